"""The signing session: one certificate for every caller, requested once even when many ask
at once; a refusal kept, so Fulcio is asked once; whom it signs as before and after there is a
certificate; images and files signed in one session carry the same certificate."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509

from shipsign.blobs import FileOutcome, FileSignOptions, plan_files, sign_files
from shipsign.checks import SignatureFormat
from shipsign.errors import ShipsignError
from shipsign.keyless.fulcio_identity import subject_alternative_names
from shipsign.sign.model import SignStatus
from shipsign.sign.work import sign_plan
from stack.raw_registry import RawClient
from unit.sign.session_kit import CERT, ENTRIES, Calls, Kit


def test_many_callers_one_certificate_request(kit: Kit) -> None:
    session, signer = kit.session()
    with ThreadPoolExecutor(max_workers=8) as workers:
        list(workers.map(lambda _: session.certify(), range(16)))
        signed = list(workers.map(lambda n: session.sign_payload(b"payload %d" % n), range(4)))
    assert kit.stack.requests(CERT) == 1
    assert session.certified
    # every signature carries the one certificate
    assert len({s.certificate_pem for s in signed}) == 1
    assert signer.of_kind("payload") == [b"payload %d" % n for n in range(4)]


def test_it_signs_as_the_token_claims_until_there_is_a_certificate(kit: Kit) -> None:
    session, _ = kit.session()
    assert not session.certified
    assert session.signed_as() == (kit.oidc.san, kit.oidc.issuer)
    assert kit.stack.requests(CERT) == 0  # asking whom it signs as costs nothing
    session.certify()
    assert session.signed_as() == (kit.oidc.san, kit.oidc.issuer)  # now the certificate's


def test_a_refusal_is_kept_and_raised_to_every_later_caller(kit: Kit) -> None:
    session, signer = kit.session()
    kit.stack.fault("/api/v2/signingCert", status=403, count=100)
    with pytest.raises(ShipsignError) as first:
        session.certify()
    with pytest.raises(ShipsignError) as again:
        session.certify()
    assert again.value is first.value
    assert kit.stack.requests(CERT) == 1
    assert not session.certified
    assert signer.signed == []


def test_images_and_files_in_one_session_carry_one_certificate(
    kit: Kit, repo: str, tmp_path: Path
) -> None:
    digest = kit.push(repo, f"{repo} layer")
    (tmp_path / "app.tar.gz").write_bytes(b"the release archive")
    session, signer = kit.session()
    [image] = sign_plan(
        kit.plan(kit.image(repo, digest)),
        kit.strategies(session, Calls(), [SignatureFormat.LEGACY]),
        session=session,
        force=False,
    )
    [file] = sign_files(session, plan_files(FileSignOptions(patterns=("*",), root=tmp_path)))
    assert (image.status, file.outcome) == (SignStatus.SIGNED, FileOutcome.SIGNED)
    assert file.verified  # read back from disk for the certificate's identity
    assert kit.stack.requests(CERT) == 1
    assert kit.stack.requests(ENTRIES) == 2
    assert [kind for kind, _ in signer.signed] == ["payload", "digest"]
    # the same leaf in the `.sig` layer and in the file's bundle
    client = RawClient(kit.registry, repo)
    [layer] = client.get_manifest(digest.replace(":", "-") + ".sig").json()["layers"]
    layer_pem = layer["annotations"]["dev.sigstore.cosign/certificate"]
    assert file.bundle is not None
    bundle = json.loads(file.bundle.read_bytes())
    leaf_der = base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"])
    leaf = x509.load_der_x509_certificate(leaf_der)
    assert leaf == x509.load_pem_x509_certificate(layer_pem.encode())
    assert subject_alternative_names(leaf) == [kit.oidc.san]
