"""Render the gate's report: text for a terminal, JSON with the same facts, and the exit code.

The Markdown (check run, comment, step summary) and the workflow annotations are the gate's own
(`shipsign.gate.markdown`, `shipsign.gate.annotations`): they are GitHub's formats.
"""

from __future__ import annotations

from typing import Any

from shipsign.gate.model import GateImage, GateReport, Verdict
from shipsign.gate.run import GateOutcome
from shipsign.present.exitcodes import verdict_code
from shipsign.present.text import one_line

__all__ = ["gate_code", "gate_json", "gate_text"]

_MARK = {Verdict.PASSED: "✔", Verdict.UNREACHABLE: "?"}


def gate_code(report: GateReport) -> int:
    """0 when no image fails; 1 when one does (whatever else happened); 3 when a registry
    could not be read and nothing failed."""
    unreachable = report.any_unreachable
    return verdict_code(
        all_ok=not report.failing and not unreachable,
        any_negative=bool(report.failing),
        any_unreachable=unreachable,
    )


def _mark(image: GateImage) -> str:
    if image.failing:
        return "✘"
    return _MARK.get(image.verdict, "!")


def gate_text(outcome: GateOutcome, *, fallback_line: bool = True) -> str:
    """The gate's report as text. `fallback_line=False` leaves out why nothing was posted to
    the pull request, for a front end that says it once in its own way (the Action's notice)."""
    report = outcome.report
    lines = [
        f"Checked {len(report.images)} image reference(s) in {report.files_checked} file(s) "
        f"({one_line(report.changed_files_source)})"
    ]
    for image in report.images:
        lines.append(f"{_mark(image)} {one_line(image.image)}: {image.verdict.value}")
        if image.digest and image.digest not in image.image:
            lines.append(f"    digest {image.digest}")
        if image.signer:
            who = "signed by" if image.verdict is Verdict.PASSED else "signature by"
            lines.append(f"    {who} {one_line(image.signer)} ({image.format})")
        if image.detail:
            lines.append(f"    {one_line(image.detail)}")
        for warning in image.warnings:
            lines.append(f"    warning: {one_line(warning)}")
        uses = ", ".join(one_line(u.where) for u in image.uses[:10])
        more = f" and {len(image.uses) - 10} more" if len(image.uses) > 10 else ""
        lines.append(f"    used in {uses}{more}")
    for problem in report.problems:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        lines.append(f"! {one_line(where)}: not checked: {one_line(problem.reason)}")
    for warning in outcome.warnings:
        lines.append(f"warning: {one_line(warning)}")
    github = outcome.github
    if github is not None:
        if github.check_run_url:
            lines.append(f"check run: {github.check_run_url}")
        if github.comment_url:
            lines.append(f"comment ({github.comment_action}): {github.comment_url}")
        if github.fell_back and fallback_line:
            lines.append(one_line(github.fell_back))
    failing = len(report.failing)
    if failing:
        lines.append(f"✘ {failing} image(s) fail the gate")
    elif report.any_unreachable:
        lines.append("? some images could not be checked: a registry could not be read")
    else:
        lines.append(f"✔ the gate passes ({report.conclusion.value})")
    return "\n".join(lines) + "\n"


def _image_json(image: GateImage) -> dict[str, Any]:
    return {
        "image": image.image,
        "verdict": image.verdict.value,
        "failing": image.failing,
        "digest": image.digest,
        "signer": image.signer or None,
        "issuer": image.issuer or None,
        "format": image.format or None,
        "detail": image.detail or None,
        "warnings": list(image.warnings),
        "uses": [
            {
                "file": u.file,
                "line": u.line,
                "text": u.text,
                "kind": u.kind.value,
                "source": u.source,
                "note": u.note or None,
            }
            for u in image.uses
        ],
    }


def gate_json(outcome: GateOutcome) -> dict[str, Any]:
    report = outcome.report
    github = outcome.github
    return {
        "conclusion": report.conclusion.value,
        "files_checked": report.files_checked,
        "changed_files": report.changed_files_source,
        "head_sha": report.head_sha or None,
        "resolved_tags": outcome.resolved,
        "verified_digests": outcome.verified,
        "images": [_image_json(i) for i in report.images],
        "problems": [{"file": p.file, "line": p.line, "reason": p.reason} for p in report.problems],
        "warnings": list(outcome.warnings),
        "github": None
        if github is None
        else {
            "check_run": github.check_run_url,
            "comment": github.comment_url,
            "comment_action": github.comment_action,
            "fell_back": github.fell_back or None,
        },
    }
