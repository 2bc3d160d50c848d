"""Rendering a signing report: the text table, the JSON document and the Markdown summary."""

from __future__ import annotations

import dataclasses
import json

from shipsign.checks import SignatureFormat
from shipsign.errors import RegistryError
from shipsign.keyless.retrying import Service, ServiceStats
from shipsign.oci import Digest
from shipsign.present.sign import search_url, sign_json, sign_markdown, sign_text
from shipsign.sign import ImageTarget, ReadBack, SignReport, SignResult, SignStatus

INDEX = Digest.of(b"index")
CHILD = Digest.of(b"child")
SIG = Digest.of(b"sig manifest")
ID = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"


def make_report(*, public: bool) -> SignReport:
    down = RegistryError(
        "cannot push manifest index.docker.io/acme/app: gave up after 4 attempts",
        where="PUT /v2/acme/app/manifests/sha256-….sig",
        found="HTTP 503",
    )
    results = (
        SignResult(digest=INDEX, repository="ghcr.io/acme/app", format=SignatureFormat.BUNDLE,
                   status=SignStatus.SIGNED, signature_manifest=SIG, log_index=42,
                   readback=ReadBack.VERIFIED),
        SignResult(digest=CHILD, repository="ghcr.io/acme/app", format=SignatureFormat.LEGACY,
                   status=SignStatus.SKIPPED, platform="linux/arm64", index=INDEX,
                   signature_manifest=SIG, log_index=7, readback=ReadBack.VERIFIED,
                   notes=("already signed by this identity (layer 0)",)),
        SignResult(digest=INDEX, repository="index.docker.io/acme/app",
                   format=SignatureFormat.LEGACY, status=SignStatus.UNREACHABLE, log_index=43,
                   notes=("signed, but not written",), error=down),
    )  # fmt: skip
    return SignReport(
        images=(
            ImageTarget(
                input="ghcr.io/acme/app:v1", repository="ghcr.io/acme/app", digest=INDEX, tag="v1"
            ),
            ImageTarget(
                input="docker.io/acme/app@" + str(INDEX),
                repository="index.docker.io/acme/app",
                digest=INDEX,
            ),
        ),
        results=results,
        identity=ID,
        issuer="https://token.actions.githubusercontent.com",
        trust_source="Sigstore production",
        public_log=public,
        services=(
            ServiceStats(
                service=Service.REKOR, calls=3, attempts=5, retries=2, reasons=(("HTTP 503", 2),)
            ),
        ),
        certificate_requested=True,
        verify_commands=("shipsign verify --certificate-identity X IMAGE",),
        verified=True,
    )


def test_text_has_one_row_per_signature_and_names_the_failure() -> None:
    text = sign_text(make_report(public=True))
    assert f"ghcr.io/acme/app:v1 -> {INDEX}" in text  # the digest used, in full
    table = text.split("\n\n")[2].splitlines()
    assert table[0].split()[:3] == ["IMAGE", "PLATFORM", "FORMAT"]
    rows = table[1:]
    assert len(rows) == 3
    assert rows[0].split()[1:4] == [f"ghcr.io/acme/app@{str(INDEX)[:19]}", "bundle", "signed"]
    assert "https://search.sigstore.dev/?logIndex=42" in rows[0]
    assert "linux/arm64" in rows[1]
    assert "already" in rows[1]
    assert "unreachable" in rows[2]
    failure = text.split("Not signed or not verified:")[1]
    assert f"index.docker.io/acme/app@{INDEX} legacy: unreachable: cannot push manifest" in failure
    assert "found: HTTP 503" in failure
    assert "Rekor: 3 calls, 2 retries after HTTP 503" in text
    assert "shipsign verify --certificate-identity X IMAGE" in text
    assert text.rstrip().endswith(
        "3 signatures: 1 signed, 1 already there; 1 not signed or not verified"
    )


def test_search_links_only_for_the_public_log() -> None:
    private = make_report(public=False)
    assert "search.sigstore.dev" not in sign_text(private)
    assert "search.sigstore.dev" not in sign_markdown(private)
    assert search_url(private, 42) is None
    assert search_url(make_report(public=True), None) is None


def test_json_carries_the_same_facts() -> None:
    doc = json.loads(json.dumps(sign_json(make_report(public=True))))
    assert doc["ok"] is False
    assert doc["identity"] == ID
    assert [s["status"] for s in doc["signatures"]] == ["signed", "skipped", "unreachable"]
    first = doc["signatures"][0]
    assert first["signature_manifest"] == str(SIG)
    assert first["search_url"] == "https://search.sigstore.dev/?logIndex=42"
    assert doc["signatures"][1]["platform"] == "linux/arm64"
    assert doc["signatures"][1]["index"] == str(INDEX)
    assert doc["signatures"][2]["error"]["found"] == "HTTP 503"
    assert doc["services"][0]["retry_reasons"] == {"HTTP 503": 2}
    assert doc["images"][0]["tag"] == "v1"


def test_markdown_summary_table() -> None:
    md = sign_markdown(make_report(public=True))
    assert md.startswith("### shipsign sign\n")
    assert f"| `ghcr.io/acme/app@{INDEX}` |  | bundle | ✔ signed | verified | `{SIG}` | " in md
    assert f"| `index.docker.io/acme/app@{INDEX}` |  | legacy | ✘ unreachable | not-run |  |" in md
    assert "[42](https://search.sigstore.dev/?logIndex=42)" in md
    assert f"- ✘ `index.docker.io/acme/app@{INDEX}` legacy: cannot push manifest" in md


def test_text_escapes_what_registries_say() -> None:
    report = make_report(public=False)
    hostile = RegistryError(
        "cannot resolve ghcr.io/acme/app:v2\x1b]0;pwned\x07",
        found='404 MANIFEST_UNKNOWN "gone\n✔ 3 signatures: 3 signed; all verified"',
    )
    target = ImageTarget(
        input="ghcr.io/acme/app:v2", repository="ghcr.io/acme/app", digest=None, error=hostile
    )
    text = sign_text(dataclasses.replace(report, images=(*report.images, target)))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert not [line for line in text.splitlines() if line.startswith("✔ 3 signatures")]
    assert 'found: 404 MANIFEST_UNKNOWN "gone\\n✔ 3 signatures' in text
    assert "not resolved: cannot resolve ghcr.io/acme/app:v2\\x1b]0;pwned\\x07" in text
