"""Render verification results: text like cosign's, JSON with the same facts, Markdown tables."""

from __future__ import annotations

from typing import Any

from shipsign.checks import CheckFailure, SignatureFacts, SignatureOutcome
from shipsign.present.text import one_line, printable
from shipsign.verify import BlobReport, FoundSignature, ImageResult, ImageStatus, VerifyReport

__all__ = [
    "blob_json",
    "blob_text",
    "image_markdown",
    "verify_json",
    "verify_text",
]

_KEYLESS_CHECKS = (
    "the signed claims name this digest (simple-signing payload or in-toto subject)",
    "the signature is valid over the exact signed bytes",
    "the certificate chains to a Fulcio CA of the trusted root, valid at signing time, "
    "with an embedded SCT from a trusted CT log",
    "the transparency log entry is signed by a trusted Rekor key (SET, and inclusion proof "
    "for bundles) and matches the signature and certificate",
    "the certificate's identity, issuer and GitHub claims match the policy",
)
_KEY_CHECKS = (
    "the signed claims name this digest (simple-signing payload)",
    "the signature is valid over the exact signed bytes with the given public key",
    "the transparency log entry, when required, is signed by a trusted Rekor key and matches",
)


def verify_text(report: VerifyReport) -> str:
    """The human report: what was checked, then each image's verdict and why."""
    lines: list[str] = []
    if any(r.status is ImageStatus.VERIFIED for r in report.all_results()):
        lines.append("The following checks were performed on each of these signatures:")
        checks = _KEY_CHECKS if report.keyed else _KEYLESS_CHECKS
        lines += [f"  - {c}" for c in checks]
        lines += [f"  not checked: {what}" for what in report.not_checked]
        lines.append(f"  (trust: {report.trust_source})")
        lines.append("")
    for image in report.images:
        lines += _image_text(image, indent="")
        for child in image.children:
            lines += _image_text(child, indent="    ")
    return printable("\n".join(lines).rstrip() + "\n")


def _image_text(image: ImageResult, *, indent: str) -> list[str]:
    name = f"{image.repository}@{image.digest}" if image.digest else image.input
    if image.platform is not None:
        name += f" ({image.platform})"
    lines = [f"{indent}{_MARK[image.status]} {one_line(name)}: {one_line(_headline(image))}"]
    lines += [f"{indent}    note: {one_line(note)}" for note in image.notes]
    if image.status is ImageStatus.VERIFIED:
        for sig in image.verified:
            lines.append(f"{indent}    {_facts_line(sig)}")
        return lines
    if image.status is ImageStatus.UNREACHABLE and image.error is not None:
        lines.append(f"{indent}    error: {one_line(image.error.what)}")
        lines += [f"{indent}      {k}: {one_line(v)}" for k, v in image.error.details()]
    for sig in image.signatures:
        where = one_line(sig.location)
        lines.append(f"{indent}    - {sig.outcome.format.value} signature at {where}")
        for failure in sig.outcome.failures:
            lines += _failure_lines(failure, indent + "        ")
    if image.looked_in and image.status is not ImageStatus.UNSIGNED:  # the headline says it
        label = "looked in" if image.signatures else "looked in, found nothing"
        lines.append(f"{indent}    {label}: {one_line(', '.join(image.looked_in))}")
    return lines


_MARK = {
    ImageStatus.VERIFIED: "✔",
    ImageStatus.FAILED: "✘",
    ImageStatus.UNSIGNED: "✘",
    ImageStatus.UNREACHABLE: "!",
}


def _headline(image: ImageResult) -> str:
    n = len(image.signatures)
    if image.status is ImageStatus.VERIFIED:
        return f"verified ({len(image.verified)} of {n} signature{'s' if n != 1 else ''} passed)"
    if image.status is ImageStatus.UNSIGNED:
        return f"no signatures found (looked in {', '.join(image.looked_in)})"
    if image.status is ImageStatus.UNREACHABLE:
        return "could not look for signatures"
    return f"{n} signature{'s' if n != 1 else ''} found, none matched:"


def _facts_line(sig: FoundSignature) -> str:
    f = sig.outcome.facts
    parts = [f"{sig.outcome.format.value} at {one_line(sig.location)}"]
    if f.identity:
        parts.append(f"identity {one_line(f.identity)}")
    if f.issuer:
        parts.append(f"issuer {one_line(f.issuer)}")
    if f.key_id:
        parts.append(f"key {f.key_id[:16]}")
    if f.log_index is not None:
        parts.append(f"Rekor log index {f.log_index}")
    if f.signing_time is not None:
        parts.append(f"signed {f.signing_time.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    return "; ".join(parts)


def _failure_lines(failure: CheckFailure, indent: str) -> list[str]:
    return [
        f"{indent}check {failure.check} failed ({one_line(failure.where)})",
        f"{indent}  expected: {one_line(failure.expected)}",
        f"{indent}  found:    {one_line(failure.found)}",
    ]


def _facts_json(f: SignatureFacts) -> dict[str, Any]:
    return {
        "identity": f.identity,
        "issuer": f.issuer,
        "key_id": f.key_id,
        "rekor_log_index": f.log_index,
        "signing_time": f.signing_time.strftime("%Y-%m-%dT%H:%M:%SZ") if f.signing_time else None,
    }


def _outcome_json(outcome: SignatureOutcome) -> dict[str, Any]:
    return {
        "format": outcome.format.value,
        "verified": outcome.passed,
        **_facts_json(outcome.facts),
        "failures": [
            {"check": x.check, "expected": x.expected, "found": x.found, "where": x.where}
            for x in outcome.failures
        ],
    }


def _image_json(image: ImageResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "input": image.input,
        "repository": image.repository,
        "digest": image.digest,
        "platform": image.platform,
        "status": image.status.value,
        "verified": image.ok,
        "notes": list(image.notes),
        "looked_in": list(image.looked_in),
        "signatures": [
            {"location": s.location, **_outcome_json(s.outcome)} for s in image.signatures
        ],
    }
    if image.error is not None:
        doc["error"] = {"what": image.error.what, **dict(image.error.details())}
    if image.children:
        doc["platforms"] = [_image_json(c) for c in image.children]
    return doc


def verify_json(report: VerifyReport) -> dict[str, Any]:
    """The report as a JSON-ready document."""
    return {
        "verified": report.ok,
        "trust": report.trust_source,
        "not_checked": list(report.not_checked),
        "images": [_image_json(i) for i in report.images],
    }


def image_markdown(report: VerifyReport) -> str:
    """A Markdown table of the results, for `$GITHUB_STEP_SUMMARY`."""
    rows = [
        "### shipsign verify",
        "",
        "| image | digest | result | signer | Rekor log index | details |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for image in report.all_results():
        sig = image.verified[0] if image.verified else None
        signer = (sig.outcome.facts.identity or sig.outcome.facts.key_id or "") if sig else ""
        index = sig.outcome.facts.log_index if sig else None
        name = f"`{_md(image.input)}`" + (f" ({_md(image.platform)})" if image.platform else "")
        rows.append(
            f"| {name} | `{image.digest or ''}` | {_MARK[image.status]} {image.status.value} "
            f"| {_md(signer)} | {index if index is not None else ''} | {_md(_details(image))} |"
        )
    return "\n".join(rows) + "\n"


def _details(image: ImageResult) -> str:
    if image.status is ImageStatus.VERIFIED:
        return image.verified[0].location
    if image.status is ImageStatus.UNREACHABLE:
        return f"could not look: {image.error.what}" if image.error else "could not look"
    if image.status is ImageStatus.UNSIGNED:
        return f"no signatures found (looked in {', '.join(image.looked_in)})"
    checks = sorted({f.check for s in image.signatures for f in s.outcome.failures})
    return f"{len(image.signatures)} found, none matched; failed: {', '.join(checks)}"


def _md(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return printable(" ".join(text.split())).replace("|", "\\|").replace("`", "'")


def blob_text(report: BlobReport) -> str:
    """The human verdict on one bundle (and on each file checked against a checksums file)."""
    name = report.artifact
    if report.artifact != report.digest:
        name += f" ({report.digest})"
    if report.outcome.passed:
        sig = FoundSignature(location=report.bundle, outcome=report.outcome)
        text = f"✔ {name}: verified\n    {_facts_line(sig)}\n    (trust: {report.trust_source})\n"
        if report.checksums:
            text += "".join(f"{line}\n" for line in _checksum_lines(report))
        return printable(text)
    lines = [f"✘ {one_line(name)}: the bundle {one_line(report.bundle)} did not verify"]
    for failure in report.outcome.failures:
        lines += _failure_lines(failure, "    ")
    if report.checksums:
        lines.append("  the files were not checked: the checksums file did not verify")
    return printable("\n".join(lines) + "\n")


def _checksum_lines(report: BlobReport) -> list[str]:
    sums = report.artifact
    lines = []
    for check in report.files:
        if check.ok:
            lines.append(f"  ✔ {one_line(check.file)}: sha256 {check.sha256} as listed")
        elif check.problem:
            lines.append(f"  ✘ {one_line(check.file)}: {one_line(check.name)} is {check.problem}")
        elif check.listed is None:
            lines.append(
                f"  ✘ {one_line(check.file)}: {one_line(check.name)} "
                f"is not listed in {one_line(sums)}"
            )
        else:
            lines += [
                f"  ✘ {one_line(check.file)}: its content is not what {one_line(sums)} lists",
                f"      expected: sha256 {check.listed}",
                f"      found: sha256 {check.sha256}",
            ]
    bad = sum(not c.ok for c in report.files)
    if bad:
        lines.append(f"✘ {bad} of {len(report.files)} files do not match {one_line(sums)}")
    elif report.files:
        lines.append(f"✔ {len(report.files)} files match {one_line(sums)}")
    return lines


def blob_json(report: BlobReport) -> dict[str, Any]:
    """The verdict on one bundle as a JSON-ready document."""
    doc = {
        "artifact": report.artifact,
        "digest": report.digest,
        "bundle": report.bundle,
        "trust": report.trust_source,
        **_outcome_json(report.outcome),
    }
    if report.checksums:
        doc["ok"] = report.ok
        doc["files"] = [
            {
                "file": c.file,
                "name": c.name,
                "sha256": c.sha256,
                "listed": c.listed,
                "ok": c.ok,
                "problem": c.problem or None,
            }
            for c in report.files
        ]
    return doc
