"""How errors are shown to a person."""

from __future__ import annotations

import pytest

from shipsign.cli import render
from shipsign.errors import RegistryError
from shipsign.inspect import AttachmentKind, LegacyAttachment, LegacyLayer, TreeReport
from shipsign.keyless.certs import CertIdentity
from shipsign.oci import Descriptor, Digest, ReferrersResult, ReferrersSource


def test_error_shows_what_where_expected_found_hint(capsys: pytest.CaptureFixture[str]) -> None:
    exc = RegistryError(
        "cannot push signature to ghcr.io/acme/app",
        where="PUT /v2/acme/app/manifests/sha256-3f2a.sig",
        expected="201 Created",
        found='403 DENIED "requested access to the resource is denied"',
        hint="the token lacks push scope; give the workflow `packages: write`",
    )
    render.error(exc, verbose=False)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: cannot push signature to ghcr.io/acme/app"
    assert err[1] == "  where:    PUT /v2/acme/app/manifests/sha256-3f2a.sig"
    assert err[2] == "  expected: 201 Created"
    assert err[3].startswith("  found:    403 DENIED")
    assert err[4].startswith("  hint:     the token lacks push scope")


def test_a_bug_says_internal_error(capsys: pytest.CaptureFixture[str]) -> None:
    render.error(ZeroDivisionError("division by zero"), verbose=False)
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError")
    assert "run again with -v" in err


def test_tree_escapes_what_the_registry_and_certificates_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = Digest.of(b"image")
    referrer = Descriptor(
        media_type="application/vnd.oci.image.manifest.v1+json",
        digest=Digest.of(b"referrer"),
        size=1,
        artifact_type="application/x\x1b[2J",
        annotations={"note": "ok\n└── sha256:fake verified-by-someone\x07"},
    )
    layer = LegacyLayer(
        digest=Digest.of(b"layer"),
        media_type="application/vnd.dev.cosign.simplesigning.v1+json",
        signer=CertIdentity(identity="evil\n  issuer:   trusted", issuer="\x1b]0;pwned\x07"),
    )
    report = TreeReport(
        image="r.example/acme/app@" + str(digest),
        repository="r.example/acme/app",
        digest=digest,
        legacy=(
            LegacyAttachment(
                kind=AttachmentKind.SIGNATURES, tag="t.sig", digest=digest, layers=(layer,)
            ),
        ),
        referrers=ReferrersResult(ReferrersSource.API, (referrer,)),
    )
    render.tree(report, output="text")
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    lines = out.splitlines()
    # reference, 2 groups, 1 layer + 2 fact lines, 1 referrer + its kind + 1 note
    assert len(lines) == 9
    assert "  kind: other (not an image signature)" in out  # not a Sigstore bundle type
    assert "  identity: evil\\n  issuer:   trusted" in out
    assert "  note: ok\\n└── sha256:fake verified-by-someone\\x07" in out


def test_error_fields_quoting_a_registry_stay_on_their_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exc = RegistryError(
        "cannot push blob r.example/acme/app",
        where="PUT /v2/acme/app/blobs/uploads/u",
        found='403 DENIED "denied\x1b[2J\nerror: nothing is wrong, all verified"',
    )
    render.error(exc, verbose=False)
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert err.splitlines()[2] == (
        '  found: 403 DENIED "denied\\x1b[2J\\nerror: nothing is wrong, all verified"'
    )
    assert len(err.splitlines()) == 3
