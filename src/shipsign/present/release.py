"""Render release results: `verify-release`'s table (text, JSON, Markdown), and what an upload
to a release did."""

from __future__ import annotations

from typing import Any

from shipsign.present.text import one_line
from shipsign.release.model import Outcome, UploadReport
from shipsign.release.verify import AssetStatus, ReleaseAssetResult, ReleaseReport

__all__ = ["release_json", "release_markdown", "release_text", "upload_json", "upload_text"]

_MARK = {
    AssetStatus.VERIFIED: "✔",
    AssetStatus.COVERED: "✔",
    AssetStatus.ALLOWED: "·",
    AssetStatus.SIGNATURE: " ",
    AssetStatus.FAILED: "✘",
    AssetStatus.UNSIGNED: "✘",
}


def _how(asset: ReleaseAssetResult) -> str:
    if asset.status is AssetStatus.VERIFIED or (asset.status is AssetStatus.FAILED and asset.via):
        kind = (
            "listed in" if asset.via and not asset.via.endswith(".sigstore.json") else "its bundle"
        )
        return f"{kind} {asset.via}"
    if asset.status is AssetStatus.COVERED:
        return f"listed in {asset.via}"
    return asset.detail


def release_text(report: ReleaseReport) -> str:
    """One line per asset: mark, name, status, what signs it (or why not)."""
    draft = " (draft)" if report.draft else ""
    lines = [
        f"{one_line(report.repository)} release {one_line(report.tag)}{draft}: {report.release_url}"
    ]
    width = max((len(one_line(a.name)) for a in report.assets), default=0)
    for asset in report.assets:
        how = _how(asset)
        lines.append(
            f"  {_MARK[asset.status]} {one_line(asset.name):<{width}}  {asset.status.value:<16}"
            + (f"  {one_line(how)}" if how else "")
        )
        if asset.status is AssetStatus.FAILED and asset.via and asset.detail:
            lines.append(f"      {one_line(asset.detail)}")
    signers = {
        (a.facts.identity, a.facts.issuer)
        for a in report.assets
        if a.ok and a.facts is not None and a.facts.identity
    }
    for identity, issuer in sorted(signers, key=str):
        lines.append(f"  signed by {one_line(identity)} (issuer {one_line(issuer)})")
    lines.append(f"  (trust: {report.trust_source})")
    files = [a for a in report.assets if a.status is not AssetStatus.SIGNATURE]
    if report.ok:
        lines.append(f"✔ every file of the release is signed ({len(files)} files)")
    elif not report.failed:
        lines.append("✘ no file of the release was verified")
    else:
        names = ", ".join(one_line(a.name) for a in report.failed)
        lines.append(f"✘ {len(report.failed)} of {len(files)} files did not verify: {names}")
    return "\n".join(lines) + "\n"


def _asset_json(asset: ReleaseAssetResult) -> dict[str, Any]:
    facts = asset.facts
    return {
        "name": asset.name,
        "status": asset.status.value,
        "ok": asset.ok,
        "size": asset.size,
        "sha256": asset.sha256 or None,
        "via": asset.via or None,
        "identity": facts.identity if facts else None,
        "issuer": facts.issuer if facts else None,
        "log_index": facts.log_index if facts else None,
        "detail": asset.detail or None,
    }


def release_json(report: ReleaseReport) -> dict[str, Any]:
    return {
        "repository": report.repository,
        "tag": report.tag,
        "release": report.release_url,
        "draft": report.draft,
        "ok": report.ok,
        "trust": report.trust_source,
        "assets": [_asset_json(a) for a in report.assets],
    }


def release_markdown(report: ReleaseReport) -> str:
    """A Markdown table for a step summary."""

    def cell(text: object) -> str:
        return one_line(text).replace("|", "\\|")

    rows = ["| asset | verdict | signed by | how |", "| --- | --- | --- | --- |"]
    for a in report.assets:
        if a.status is AssetStatus.SIGNATURE:
            continue
        who = a.facts.identity if a.facts is not None and a.ok else ""
        rows.append(
            f"| `{cell(a.name)}` | {a.status.value} | {cell(who or '')} | {cell(_how(a))} |"
        )
    return "\n".join(rows) + "\n"


_OUTCOME_TEXT = {
    Outcome.UPLOADED: "uploaded",
    Outcome.REPLACED: "replaced (--force)",
    Outcome.UNCHANGED: "already there, unchanged",
    Outcome.CONFLICT: "NOT uploaded: another asset of this name is there",
}


def upload_text(report: UploadReport) -> str:
    rel = report.release
    lines = [f"release {one_line(rel.tag)}{' (draft)' if rel.draft else ''}: {rel.html_url}"]
    for r in report.results:
        lines.append(f"  {one_line(r.name)}: {_OUTCOME_TEXT[r.outcome]}")
        if r.detail:
            lines.append(f"      {one_line(r.detail)}")
    lines.append(f"  {report.uploads} uploaded, {len(report.conflicts)} conflicts")
    return "\n".join(lines) + "\n"


def upload_json(report: UploadReport) -> dict[str, Any]:
    rel = report.release
    return {
        "tag": rel.tag,
        "release": rel.html_url,
        "draft": rel.draft,
        "uploads": report.uploads,
        "assets": [
            {
                "name": r.name,
                "outcome": r.outcome.value,
                "sha256": r.sha256,
                "detail": r.detail or None,
            }
            for r in report.results
        ],
    }
