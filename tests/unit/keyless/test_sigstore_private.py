"""What `keyless.sigstore_private` assumes of sigstore-python's private API still holds.

Each test is one numbered assumption of the adapter's docstring; its id and its failure message
name it. When a sigstore upgrade breaks one, this says which, before anything signs.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sigstore
from cryptography import x509
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from sigstore.hashes import Hashed
from sigstore.models import Bundle, TransparencyLogEntry, TrustedRoot
from sigstore.sign import Signer, SigningContext
from sigstore_models.common.v1 import HashAlgorithm

from interop.corpus import PRODUCTION_ROOT, load_case
from shipsign.keyless import sigstore_private as private

ROOT = Path(__file__).resolve().parents[3]
CASE = load_case("bundle-conf-v0.3-hashedrekord")


def _params(fn: Callable[..., object]) -> list[str]:
    return list(inspect.signature(fn).parameters)


def _broke(name: str, detail: str) -> str:
    return (
        f"sigstore {sigstore.__version__}: keyless/sigstore_private.py assumption '{name}' "
        f"no longer holds: {detail}"
    )


def fulcio_client() -> None:
    client = private.FulcioClient("https://fulcio.example")
    assert client.url == "https://fulcio.example", "FulcioClient(url).url"
    endpoint = client.signing_cert
    assert isinstance(endpoint, private.FulcioSigningCert), "signing_cert property"
    assert endpoint.url == "https://fulcio.example" + private.SIGNING_CERT_ENDPOINT


def fulcio_signing_cert() -> None:
    assert _params(private.FulcioSigningCert.__init__) == ["self", "url", "session"]
    assert _params(private.FulcioSigningCert.post) == ["self", "req", "identity"]
    assert "cert" in inspect.signature(private.FulcioCertificateSigningResponse).parameters
    assert private.SIGNING_CERT_ENDPOINT.startswith("/api/")


def fulcio_errors() -> None:
    assert issubclass(private.FulcioClientError, Exception)
    assert issubclass(private.ExpiredCertificate, Exception)


def rekor_submitter() -> None:
    (submitter,) = private.RekorSubmitter.__bases__
    assert submitter.__module__ == "sigstore._internal.rekor", submitter
    abstract = submitter.__abstractmethods__  # type: ignore[attr-defined]  # set by ABCMeta
    assert {"create_entry", "_build_hashed_rekord_request", "_build_dsse_request"} <= abstract
    assert issubclass(private.RekorClient, submitter)
    assert private.RekorSubmitter.__abstractmethods__ == {"create_entry"}
    assert _params(SigningContext.__init__) == [
        "self",
        "fulcio",
        "rekor",
        "trusted_root",
        "tsa_clients",
    ]
    client = private.RekorClient("https://rekor.example")
    assert client.url == "https://rekor.example/api/v1", "RekorClient(url).url"
    # The request builders our submitter borrows, run for real on a real certificate.
    cert = x509.load_pem_x509_certificate(load_case("legacy-ci-fulcio-rekor-prod").read("cert.pem"))
    digest = hashlib.sha256(b"artifact").digest()
    hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
    body = client._build_hashed_rekord_request(hashed, b"signature", cert)
    assert body["kind"] == "hashedrekord"
    assert body["spec"]["data"]["hash"]["value"] == digest.hex()
    assert _params(private.RekorClient._build_dsse_request) == ["self", "envelope", "certificate"]


def rekor_entries() -> None:
    assert _params(private.RekorEntries.__init__) == ["self", "url", "session"]
    assert _params(private.RekorEntries.post) == ["self", "payload"]
    get = inspect.signature(private.RekorEntries.get).parameters
    assert get["uuid"].kind is inspect.Parameter.KEYWORD_ONLY
    assert issubclass(private.RekorClientError, Exception)


def tsa_client() -> None:
    client = private.TimestampAuthorityClient("https://tsa.example")
    assert client.url == "https://tsa.example"
    assert _params(private.TimestampAuthorityClient.request_timestamp) == ["self", "signature"]
    assert issubclass(private.TimestampError, Exception)
    # Signer must go on without a timestamp when a TSA fails (services._Tsa relies on it).
    assert re.search(r"except\s+TimestampError", inspect.getsource(Signer)), "Signer's except"


def log_entry_body() -> None:
    doc = json.loads(CASE.read("bundle.sigstore.json"))
    logged = doc["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
    entry = Bundle.from_json(CASE.read("bundle.sigstore.json")).log_entry
    assert isinstance(entry, TransparencyLogEntry)
    assert private.logged_body(entry) == base64.b64decode(logged)


def _same_times(value: Any) -> Any:
    """`value` with RFC 3339 times parsed: protobuf writes `.999Z` as `.999000Z`."""
    if isinstance(value, dict):
        return {k: _same_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_times(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[0-9:.]+Z", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def trusted_root_json() -> None:
    root = TrustedRoot.from_file(str(PRODUCTION_ROOT))
    ours = _same_times(json.loads(private.trusted_root_json(root)))
    theirs = _same_times(json.loads(PRODUCTION_ROOT.read_bytes()))
    for part in ("tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities"):
        assert ours.get(part) == theirs.get(part), part


ASSUMPTIONS: dict[str, Callable[[], None]] = {
    "fulcio-client": fulcio_client,
    "fulcio-signing-cert": fulcio_signing_cert,
    "fulcio-errors": fulcio_errors,
    "rekor-submitter": rekor_submitter,
    "rekor-entries": rekor_entries,
    "tsa-client": tsa_client,
    "log-entry-body": log_entry_body,
    "trusted-root-json": trusted_root_json,
}


@pytest.mark.parametrize("name", list(ASSUMPTIONS))
def test_assumption_holds(name: str) -> None:
    try:
        ASSUMPTIONS[name]()
    except Exception as exc:  # AssertionError included: say which assumption, then why
        pytest.fail(_broke(name, f"{type(exc).__name__}: {exc}"))


def test_the_docstring_lists_exactly_the_tested_assumptions() -> None:
    doc = private.__doc__ or ""
    listed = re.findall(r"^\d+\. ([a-z-]+):", doc, re.MULTILINE)
    assert listed == list(ASSUMPTIONS)


def test_installed_sigstore_is_in_the_range_the_adapter_was_checked_against() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    specs = [
        Requirement(found)
        for found in re.findall(r'^\s*"(sigstore[<>=!~ ][^"]*)"', pyproject, re.MULTILINE)
    ]
    assert len(specs) == 1, "pyproject.toml should name sigstore once among the dependencies"
    assert specs[0].specifier == SpecifierSet(private.SUPPORTED), (
        f"pyproject.toml allows sigstore{specs[0].specifier}, but keyless/sigstore_private.py "
        f"was checked against {private.SUPPORTED}: check its assumptions, then update SUPPORTED"
    )
    assert sigstore.__version__ in SpecifierSet(private.SUPPORTED), (
        f"installed sigstore {sigstore.__version__} is outside {private.SUPPORTED}"
    )
