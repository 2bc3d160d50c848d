"""Render a signing run: a text table per (image, location, format) and one per file, JSON with
the same facts, and a Markdown summary for `$GITHUB_STEP_SUMMARY`. Pure."""

from __future__ import annotations

from typing import Any

from shipsign.blobs import FileOutcome, FileResult
from shipsign.checks import SignatureFormat
from shipsign.errors import ShipsignError
from shipsign.policy.consumers import Consumer, who_can_verify
from shipsign.present.text import one_line
from shipsign.sign import ImageTarget, SignReport, SignResult, SignStatus, TagResult, TagStatus

__all__ = ["search_url", "sign_json", "sign_markdown", "sign_text"]

_SEARCH = "https://search.sigstore.dev/?logIndex={}"
_HEADER = ("IMAGE", "PLATFORM", "FORMAT", "STATUS", "READ BACK", "SIGNATURE MANIFEST", "REKOR")
_FILE_HEADER = ("FILE", "SHA256", "STATUS", "READ BACK", "BUNDLE", "REKOR")
_MARK = {True: "✔", False: "✘"}


def search_url(report: SignReport, log_index: int | None) -> str | None:
    """The public log's search page for an entry, only when the public-good log was used."""
    if not report.public_log or log_index is None:
        return None
    return _SEARCH.format(log_index)


def sign_text(report: SignReport) -> str:
    """The human report: who signed, what was resolved, the table, problems, how to verify."""
    lines = [f"Signing identity: {report.identity}", f"  OIDC issuer: {report.issuer}"]
    lines.append(f"  trust: {report.trust_source}")
    if report.images or not report.files:
        lines += ["", "Images (tags resolved to the digest that was signed):"]
        lines += [f"  {_target_line(t)}" for t in report.images]
    if report.results:
        lines += ["", *_table(report)]
    if report.files:
        lines += ["", "Files (each bundle is a Sigstore bundle v0.3, as cosign sign-blob writes):"]
        lines += [f"  {row}" for row in _file_table(report)]
    notes = [(r, n) for r in report.results for n in r.notes if r.ok]
    file_notes = [f for f in report.files if f.ok and f.detail]
    if notes or file_notes:
        lines += ["", "Notes:"]
        lines += [f"  {_short_ref(r)} {r.format.value}: {one_line(n)}" for r, n in notes]
        lines += [f"  {one_line(f.path)}: {one_line(f.detail)}" for f in file_notes]
    problems = report.failures()
    file_problems = report.file_failures()
    if problems or file_problems or any(t.error for t in report.images):
        lines += ["", "Not signed or not verified:"]
        for target in report.images:
            if target.error is not None:
                what = one_line(target.error.what)
                lines.append(f"  ✘ {one_line(target.input)}: not resolved: {what}")
                lines += [f"      {k}: {one_line(v)}" for k, v in target.error.details()]
        for result in problems:
            lines += _problem_lines(result)
        for failed in file_problems:
            lines += _file_problem_lines(failed)
    if report.tags:
        lines += ["", "Tags (moved only once every signature is written and verified):"]
        lines += [f"  {_tag_line(t)}" for t in report.tags]
    if report.services:
        lines += ["", "Sigstore services: " + "; ".join(s.summary() for s in report.services)]
    if report.verify_commands:
        lines += ["", "Verify as a consumer would:"] + [f"  {c}" for c in report.verify_commands]
    consumers = _consumers(report)
    if consumers:
        lines += ["", "Who can verify what this run wrote:"]
        for c in consumers:
            mark = _MARK[c.can_verify]
            caveat = f" ({c.caveat})" if c.caveat else ""
            lines.append(f"  {mark} {c.name}: reads {c.reads.value}{caveat}; {c.how}")
    lines += ["", _verdict(report)]
    return "\n".join(lines) + "\n"


def _consumers(report: SignReport) -> tuple[Consumer, ...]:
    """The consumer matrix for the formats that were written (or found) and verified."""
    written = {r.format for r in report.results if r.ok}
    if not written:
        return ()
    return who_can_verify(
        bundle=SignatureFormat.BUNDLE in written, legacy=SignatureFormat.LEGACY in written
    )


def _target_line(target: ImageTarget) -> str:
    if target.error is not None or target.digest is None:
        return f"{target.input}: not resolved"
    if target.tag is None:
        return f"{target.input} (by digest)"
    return f"{target.input} -> {target.digest}"


def _short(digest: object) -> str:
    text = str(digest)
    return text[: len("sha256:") + 12] if text.startswith("sha256:") else text


def _short_ref(result: SignResult) -> str:
    return f"{result.repository}@{_short(result.digest)}"


def _status(result: SignResult) -> str:
    return "already" if result.status is SignStatus.SKIPPED else result.status.value


def _table(report: SignReport) -> list[str]:
    rows = [_HEADER]
    for r in report.results:
        platform = r.platform or ("platform" if r.index else "")
        rekor = "" if r.log_index is None else str(r.log_index)
        url = search_url(report, r.log_index)
        rows.append(
            (
                f"{_MARK[r.ok]} {_short_ref(r)}",
                platform,
                r.format.value,
                _status(r),
                r.readback.value,
                _short(r.signature_manifest) if r.signature_manifest else "-",
                f"{rekor} {url}" if url else rekor or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _file_status(result: FileResult) -> str:
    return "already" if result.outcome is FileOutcome.SKIPPED else result.outcome.value


def _file_readback(result: FileResult) -> str:
    if result.outcome is FileOutcome.SKIPPED:
        return "verified"  # the bundle there was verified before it was kept
    return "verified" if result.verified else "not-run"


def _file_table(report: SignReport) -> list[str]:
    rows = [_FILE_HEADER]
    for f in report.files:
        rekor = "" if f.log_index is None else str(f.log_index)
        url = search_url(report, f.log_index)
        name = one_line(f.path) + (" (checksums)" if f.checksums else "")
        rows.append(
            (
                f"{_MARK[f.ok]} {name}",
                f.sha256[:12],
                _file_status(f),
                _file_readback(f) if f.ok else "-",
                one_line(f.bundle) if f.bundle else "-",
                f"{rekor} {url}" if url else rekor or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_FILE_HEADER))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _file_problem_lines(result: FileResult) -> list[str]:
    what = result.error.what if result.error is not None else result.detail
    lines = [f"  ✘ {one_line(result.path)}: {result.outcome.value}: {one_line(what)}"]
    if result.detail and result.detail != what:
        lines.append(f"      note: {one_line(result.detail)}")
    if result.error is not None:
        lines += [f"      {k}: {one_line(v)}" for k, v in result.error.details()]
    return lines


def _problem_lines(result: SignResult) -> list[str]:
    lines = [f"  ✘ {result.reference} {result.format.value}: {one_line(_why(result))}"]
    lines += [f"      note: {one_line(n)}" for n in result.notes]
    if result.error is not None:
        lines += [f"      {k}: {one_line(v)}" for k, v in result.error.details()]
    return lines


def _why(result: SignResult) -> str:
    if result.error is not None:
        return f"{result.status.value}: {result.error.what}"
    return f"signed, but the read-back {result.readback.value}"


def _tag_line(tag: TagResult) -> str:
    mark = _MARK[tag.status is TagStatus.MOVED]
    before = f" (was {_short(tag.previous)})" if tag.previous else ""
    line = f"{mark} {tag.reference} -> {_short(tag.digest)}: {tag.status.value}{before}"
    if tag.error is not None:
        line += f": {one_line(tag.error.what)}"
    return line


def _tags_verdict(report: SignReport) -> str:
    if not report.tags:
        return ""
    moved = len(report.tags_moved)
    if moved == len(report.tags):
        return f"; {moved} tag{'s' if moved != 1 else ''} moved"
    return f"; no tag moved ({len(report.tags)} held)"


def _files_verdict(report: SignReport) -> str:
    count = len(report.files)
    signed = sum(f.outcome is FileOutcome.SIGNED for f in report.files)
    already = sum(f.outcome is FileOutcome.SKIPPED for f in report.files)
    text = f"{count} file{'s' if count != 1 else ''}: {signed} signed, {already} already signed"
    bad = len(report.file_failures())
    return text + (f", {bad} not signed" if bad else "")


def _verdict(report: SignReport) -> str:
    count = len(report.results)
    signed = sum(r.status is SignStatus.SIGNED for r in report.results)
    already = sum(r.status is SignStatus.SKIPPED for r in report.results)
    text = f"{count} signature{'s' if count != 1 else ''}: {signed} signed, {already} already there"
    if report.files:
        files = _files_verdict(report)
        text = files if not report.images else f"{text}; {files}"
    if report.ok:
        verified = ""
        if report.verified:
            verified = "; all verified from every location" if report.images else "; all verified"
        return f"✔ {text}{verified}{_tags_verdict(report)}"
    bad = len(report.failures())
    if bad:
        text += f"; {bad} not signed or not verified"
    unresolved = sum(t.error is not None for t in report.images)
    if unresolved:
        text += f"; {unresolved} image{'s' if unresolved != 1 else ''} not resolved"
    return f"✘ {text}{_tags_verdict(report)}"


# ---------------------------------------------------------------- JSON


def _error_json(error: ShipsignError | None) -> dict[str, str] | None:
    return None if error is None else {"what": error.what, **dict(error.details())}


def _result_json(report: SignReport, r: SignResult) -> dict[str, Any]:
    return {
        "reference": r.reference,
        "repository": r.repository,
        "digest": str(r.digest),
        "platform": r.platform,
        "index": str(r.index) if r.index else None,
        "format": r.format.value,
        "status": r.status.value,
        "read_back": r.readback.value,
        "ok": r.ok,
        "signature_manifest": str(r.signature_manifest) if r.signature_manifest else None,
        "rekor_log_index": r.log_index,
        "referrers": r.referrers,
        "search_url": search_url(report, r.log_index),
        "notes": list(r.notes),
        "error": _error_json(r.error),
    }


def _tag_json(tag: TagResult) -> dict[str, Any]:
    return {
        "reference": tag.reference,
        "repository": tag.repository,
        "tag": tag.tag,
        "digest": str(tag.digest),
        "previous": str(tag.previous) if tag.previous else None,
        "status": tag.status.value,
        "error": _error_json(tag.error),
    }


def _file_json(report: SignReport, f: FileResult) -> dict[str, Any]:
    return {
        "path": str(f.path),
        "name": f.name,
        "sha256": f.sha256,
        "size": f.size,
        "outcome": f.outcome.value,
        "ok": f.ok,
        "checksums": f.checksums,
        "bundle": str(f.bundle) if f.bundle else None,
        "outputs": [str(p) for p in f.outputs],
        "rekor_log_index": f.log_index,
        "search_url": search_url(report, f.log_index),
        "verified": f.verified or f.outcome is FileOutcome.SKIPPED,
        "detail": f.detail or None,
        "error": _error_json(f.error),
    }


def sign_json(report: SignReport) -> dict[str, Any]:
    """The report as a JSON-ready document (no token, no credential)."""
    return {
        "ok": report.ok,
        "signed": report.signed,
        "identity": report.identity,
        "issuer": report.issuer,
        "trust": report.trust_source,
        "public_log": report.public_log,
        "certificate_requested": report.certificate_requested,
        "verified_after_signing": report.verified,
        "images": [
            {
                "input": t.input,
                "repository": t.repository,
                "digest": str(t.digest) if t.digest else None,
                "media_type": t.media_type,
                "tag": t.tag,
                "error": _error_json(t.error),
            }
            for t in report.images
        ],
        "signatures": [_result_json(report, r) for r in report.results],
        "services": [
            {
                "service": s.service.value,
                "calls": s.calls,
                "attempts": s.attempts,
                "retries": s.retries,
                "retry_reasons": dict(s.reasons),
                "failed": s.failed,
                "recovered": s.recovered,
            }
            for s in report.services
        ],
        "tags": [_tag_json(t) for t in report.tags],
        "files": [_file_json(report, f) for f in report.files],
        "verify_commands": list(report.verify_commands),
        "consumers": [
            {
                "verifier": c.name,
                "reads": c.reads.value,
                "can_verify": c.can_verify,
                "how": c.how,
                "caveat": c.caveat or None,
            }
            for c in _consumers(report)
        ],
    }


# ---------------------------------------------------------------- Markdown


def sign_markdown(report: SignReport) -> str:
    """A Markdown summary for `$GITHUB_STEP_SUMMARY`."""
    rows = [
        "### shipsign sign",
        "",
        f"Signed as `{_md(report.identity)}` (issuer `{_md(report.issuer)}`).",
    ]
    if report.images or not report.files:
        rows += [
            "",
            "| image | platform | format | status | read back | signature manifest "
            "| Rekor log index |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
    for r in report.results:
        url = search_url(report, r.log_index)
        index = "" if r.log_index is None else str(r.log_index)
        manifest = f"`{r.signature_manifest}`" if r.signature_manifest else ""
        rows.append(
            f"| `{r.reference}` | {r.platform or ''} | {r.format.value} | {_MARK[r.ok]} "
            f"{_status(r)} | {r.readback.value} | {manifest} | "
            f"{f'[{index}]({url})' if url else index} |"
        )
    for t in report.images:
        if t.error is not None:
            rows.append(f"| `{t.input}` | | | ✘ not resolved: {_md(t.error.what)} | | | |")
    for r in report.failures():
        if r.error is not None:
            rows += ["", f"- ✘ `{r.reference}` {r.format.value}: {_md(r.error.what)}"]
    if report.files:
        rows += [
            "",
            "| file | sha256 | status | bundle | Rekor log index |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in report.files:
            url = search_url(report, f.log_index)
            index = "" if f.log_index is None else str(f.log_index)
            bundle = f"`{_md(str(f.bundle))}`" if f.bundle else ""
            rows.append(
                f"| `{_md(str(f.path))}` | `{f.sha256[:12]}` | {_MARK[f.ok]} {_file_status(f)} | "
                f"{bundle} | {f'[{index}]({url})' if url else index} |"
            )
        for f in report.file_failures():
            what = f.error.what if f.error is not None else f.detail
            rows += ["", f"- ✘ `{_md(str(f.path))}`: {_md(what)}"]
    if report.tags:
        rows += ["", "Tags (moved only once every signature is written and verified):", ""]
        rows += [f"- {_md(_tag_line(t))}" for t in report.tags]
    if report.verify_commands:
        rows += ["", "Verify with:", "", "```", *report.verify_commands, "```"]
    consumers = _consumers(report)
    if consumers:
        rows += ["", "| verifier | reads | can verify | set up with |", "| --- | --- | --- | --- |"]
        for c in consumers:
            caveat = f" ({_md(c.caveat)})" if c.caveat else ""
            rows.append(
                f"| {_md(c.name)} | {c.reads.value}{caveat} | {_MARK[c.can_verify]} | `{c.how}` |"
            )
    rows += ["", _md(_verdict(report))]
    return "\n".join(rows) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")
