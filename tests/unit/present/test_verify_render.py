"""How verification results read: text, JSON and the step-summary table, from built reports."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from shipsign.checks import CheckFailure, SignatureFacts, SignatureFormat, SignatureOutcome
from shipsign.errors import RegistryError
from shipsign.present.verify import blob_json, blob_text, image_markdown, verify_json, verify_text
from shipsign.verify import BlobReport, FoundSignature, ImageResult, ImageStatus, VerifyReport

REPO = "ghcr.io/acme/app"
DIGEST = "sha256:" + "ab" * 32
SAN = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
ISSUER = "https://token.actions.githubusercontent.com"
SIGNED_AT = datetime(2026, 3, 1, 12, 30, 5, tzinfo=timezone.utc)


def passed(location: str = f"{REPO}:sha256-{'ab' * 32}.sig layer 0") -> FoundSignature:
    facts = SignatureFacts(identity=SAN, issuer=ISSUER, log_index=4242, signing_time=SIGNED_AT)
    outcome = SignatureOutcome(format=SignatureFormat.LEGACY, facts=facts, failures=())
    return FoundSignature(location=location, outcome=outcome)


def failed(check: str, expected: str, found: str) -> FoundSignature:
    failure = CheckFailure(check=check, expected=expected, found=found, where="Sigstore bundle")
    outcome = SignatureOutcome(
        format=SignatureFormat.BUNDLE, facts=SignatureFacts(identity=SAN), failures=(failure,)
    )
    return FoundSignature(location=f"{REPO}@sha256:{'cd' * 32} (bundle referrer)", outcome=outcome)


def image(
    status: ImageStatus,
    *signatures: FoundSignature,
    error: RegistryError | None = None,
    children: tuple[ImageResult, ...] = (),
) -> ImageResult:
    return ImageResult(
        input=f"{REPO}@{DIGEST}",
        repository=REPO,
        digest=DIGEST,
        status=status,
        signatures=signatures,
        looked_in=(f"{REPO} referrers API", f"{REPO}:sha256-{'ab' * 32}.sig"),
        error=error,
        children=children,
    )


def report(*images: ImageResult, not_checked: tuple[str, ...] = ()) -> VerifyReport:
    return VerifyReport(
        images=images, trust_source="Sigstore production", keyed=False, not_checked=not_checked
    )


def test_verified_image_lists_the_facts_of_its_signature() -> None:
    text = verify_text(report(image(ImageStatus.VERIFIED, passed())))
    assert text.startswith("The following checks were performed on each of these signatures:\n")
    assert "(trust: Sigstore production)" in text
    assert f"✔ {REPO}@{DIGEST}: verified (1 of 1 signature passed)" in text
    assert (
        f"legacy at {REPO}:sha256-{'ab' * 32}.sig layer 0; identity {SAN}; issuer {ISSUER}; "
        "Rekor log index 4242; signed 2026-03-01T12:30:05Z"
    ) in text
    assert "looked in" not in text


def test_relaxed_checks_are_said() -> None:
    relaxed = report(
        image(ImageStatus.VERIFIED, passed()),
        not_checked=("the embedded SCT (--insecure-ignore-sct)",),
    )
    assert "  not checked: the embedded SCT (--insecure-ignore-sct)" in verify_text(relaxed)
    assert verify_json(relaxed)["not_checked"] == ["the embedded SCT (--insecure-ignore-sct)"]


def test_failed_image_explains_every_signature() -> None:
    sigs = [failed("identity", "me", SAN), failed("dsse_subject", "a subject", "another")]
    text = verify_text(report(image(ImageStatus.FAILED, *sigs)))
    assert "The following checks" not in text
    assert f"✘ {REPO}@{DIGEST}: 2 signatures found, none matched:" in text
    assert text.count(f"- bundle signature at {REPO}@sha256:{'cd' * 32} (bundle referrer)") == 2
    assert "check identity failed (Sigstore bundle)\n" in text
    assert "  expected: me\n" in text
    assert f"  found:    {SAN}\n" in text
    assert "check dsse_subject failed" in text
    assert f"looked in: {REPO} referrers API, {REPO}:sha256-" in text


def test_unsigned_image_says_where_it_looked_once() -> None:
    text = verify_text(report(image(ImageStatus.UNSIGNED)))
    assert (
        f"✘ {REPO}@{DIGEST}: no signatures found (looked in {REPO} referrers API, "
        f"{REPO}:sha256-{'ab' * 32}.sig)"
    ) in text
    assert text.count("looked in") == 1


def test_unreachable_image_says_it_could_not_look() -> None:
    error = RegistryError(
        "cannot fetch manifest on ghcr.io: gave up after 4 attempts",
        where="GET /v2/acme/app/manifests/sha256-ab.sig",
        found="HTTP 503",
    )
    result = image(ImageStatus.UNREACHABLE, error=error)
    text = verify_text(report(result))
    assert f"! {REPO}@{DIGEST}: could not look for signatures" in text
    assert "error: cannot fetch manifest on ghcr.io: gave up after 4 attempts" in text
    assert "found: HTTP 503" in text
    assert "looked in, found nothing: " in text
    doc = verify_json(report(result))
    assert doc["images"][0]["error"]["what"] == error.what
    assert doc["images"][0]["error"]["found"] == "HTTP 503"
    assert "could not look: cannot fetch manifest" in image_markdown(report(result))


def test_platforms_are_named() -> None:
    child = ImageResult(
        input=f"{REPO}@sha256:{'ef' * 32}",
        repository=REPO,
        digest=f"sha256:{'ef' * 32}",
        status=ImageStatus.UNSIGNED,
        platform="linux/arm64/v8",
        looked_in=(f"{REPO}:sha256-{'ef' * 32}.sig",),
    )
    parent = image(ImageStatus.VERIFIED, passed(), children=(child,))
    text = verify_text(report(parent))
    assert f"    ✘ {REPO}@sha256:{'ef' * 32} (linux/arm64/v8): no signatures found" in text
    doc = verify_json(report(parent))
    assert doc["verified"] is False  # the parent verified, a platform did not
    assert doc["images"][0]["verified"] is False
    assert doc["images"][0]["status"] == "verified"
    assert doc["images"][0]["platforms"][0]["platform"] == "linux/arm64/v8"
    assert doc["images"][0]["platforms"][0]["status"] == "unsigned"
    table = image_markdown(report(parent))
    assert f"| `{REPO}@sha256:{'ef' * 32}` (linux/arm64/v8) | " in table


def test_json_has_the_same_facts() -> None:
    doc = verify_json(report(image(ImageStatus.VERIFIED, passed(), failed("issuer", "a", "b"))))
    json.dumps(doc)  # serialisable as is
    assert doc["verified"] is True
    assert doc["trust"] == "Sigstore production"
    (result,) = doc["images"]
    assert result["looked_in"] == [f"{REPO} referrers API", f"{REPO}:sha256-{'ab' * 32}.sig"]
    good, bad = result["signatures"]
    assert good == {
        "location": f"{REPO}:sha256-{'ab' * 32}.sig layer 0",
        "format": "legacy",
        "verified": True,
        "identity": SAN,
        "issuer": ISSUER,
        "key_id": None,
        "rekor_log_index": 4242,
        "signing_time": "2026-03-01T12:30:05Z",
        "failures": [],
    }
    assert bad["failures"] == [
        {"check": "issuer", "expected": "a", "found": "b", "where": "Sigstore bundle"}
    ]


def test_markdown_table_rows_stay_in_their_cells() -> None:
    sig = failed("identity", "x|y", "line\nbreak `code`")
    table = image_markdown(
        report(image(ImageStatus.VERIFIED, passed()), image(ImageStatus.FAILED, sig))
    )
    lines = table.splitlines()
    assert lines[0] == "### shipsign verify"
    assert lines[2] == "| image | digest | result | signer | Rekor log index | details |"
    rows = lines[4:]
    assert len(rows) == 2
    assert rows[0] == (
        f"| `{REPO}@{DIGEST}` | `{DIGEST}` | ✔ verified | {SAN} | 4242 | "
        f"{REPO}:sha256-{'ab' * 32}.sig layer 0 |"
    )
    assert rows[1].endswith("| ✘ failed |  |  | 1 found, none matched; failed: identity |")
    for row in rows:  # every row has exactly the header's seven separators
        assert row.replace("\\|", "").count("|") == 7


def test_blob_verdicts() -> None:
    ok = BlobReport(
        artifact="dist/app.whl",
        digest=DIGEST,
        bundle="app.whl.sigstore.json",
        outcome=passed().outcome,
        trust_source="Sigstore production",
    )
    assert blob_text(ok).startswith(f"✔ dist/app.whl ({DIGEST}): verified\n")
    assert "Rekor log index 4242" in blob_text(ok)
    assert blob_json(ok)["verified"] is True
    bad = BlobReport(
        artifact="dist/app.whl",
        digest=DIGEST,
        bundle="app.whl.sigstore.json",
        outcome=failed("bundle_parse", "a bundle", "not JSON").outcome,
        trust_source="Sigstore production",
    )
    text = blob_text(bad)
    assert "the bundle app.whl.sigstore.json did not verify" in text
    assert "check bundle_parse failed (Sigstore bundle)" in text
    assert blob_json(bad)["failures"][0]["check"] == "bundle_parse"


def test_blob_checked_by_digest_names_it_once() -> None:
    by_digest = BlobReport(
        artifact=DIGEST,
        digest=DIGEST,
        bundle="b.json",
        outcome=passed().outcome,
        trust_source="Sigstore production",
    )
    assert blob_text(by_digest).startswith(f"✔ {DIGEST}: verified\n")


def test_control_characters_from_a_signature_are_escaped() -> None:
    hostile = failed("identity", "me", "evil\x1b[2J\x1b]0;pwned\x07san")
    text = verify_text(report(image(ImageStatus.FAILED, hostile)))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07san" in text
    facts = SignatureFacts(identity="evil\x1b[2Jsan|x", issuer=ISSUER, log_index=1)
    signed = SignatureOutcome(format=SignatureFormat.LEGACY, facts=facts, failures=())
    verified = image(ImageStatus.VERIFIED, FoundSignature(location="here", outcome=signed))
    row = image_markdown(report(verified)).splitlines()[-1]
    assert "| evil\\x1b[2Jsan\\|x | 1 |" in row


def test_a_line_break_in_a_signature_cannot_start_a_line_of_its_own() -> None:
    fake = f"x\n✔ {REPO}@{DIGEST}: verified (1 of 1 signature passed)\r\nmore"
    hostile = failed("identity", "me", fake)
    text = verify_text(report(image(ImageStatus.FAILED, hostile)))
    assert not [line for line in text.splitlines() if line.startswith("✔")]
    assert f"found:    x\\n✔ {REPO}@{DIGEST}: verified" in text
    facts = SignatureFacts(identity="a\nb", issuer="c\nd")
    signed = SignatureOutcome(format=SignatureFormat.LEGACY, facts=facts, failures=())
    verified = image(ImageStatus.VERIFIED, FoundSignature(location="l\n", outcome=signed))
    assert "legacy at l\\n; identity a\\nb; issuer c\\nd" in verify_text(report(verified))
