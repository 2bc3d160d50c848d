"""What the action reports: its step outputs and its annotations, built from a use case's report.

Pure: returns strings; `workflow.py` writes them and `main.py` decides when.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from shipsign.errors import ShipsignError
from shipsign.present.exitcodes import error_class, exit_code_for

if TYPE_CHECKING:
    from shipsign.gate.run import GateOutcome
    from shipsign.release.model import UploadReport
    from shipsign.release.verify import ReleaseReport
    from shipsign.sign import SignReport
    from shipsign.verify import VerifyReport

__all__ = [
    "OUTPUT_NAMES",
    "Annotation",
    "error_annotation",
    "failure_outputs",
    "finish_outputs",
    "gate_outputs",
    "release_annotations",
    "sign_annotations",
    "sign_outputs",
    "upload_annotations",
    "upload_markdown",
    "upload_outputs",
    "verify_annotations",
    "verify_outputs",
    "verify_release_outputs",
]

# Every output the action sets, on every exit path; a test checks this equals action.yml's.
OUTPUT_NAMES = (
    "result",
    "signatures",
    "rekor-log-indexes",
    "verified",
    "tags",
    "bundles",
    "release-url",
    "uploaded",
    "conclusion",
    "failing",
    "images",
    "error",
    "exit-code",
    "ok-count",
    "failed-count",
    "result-file",
)

Annotation = tuple[str, str]  # (title, message)


def _lines(values: list[str]) -> str:
    return "\n".join(dict.fromkeys(v for v in values if v))  # in order, without repeats


def verify_outputs(report: VerifyReport) -> dict[str, str]:
    """`result` is `shipsign verify --output json`; the others list what passed.

    `signatures` means what it means for sign: one `REPOSITORY@DIGEST` line per signature
    manifest (`.sig` manifest or bundle referrer) holding a signature that verified.
    """
    from shipsign.present.verify import verify_json

    passed = [(image, sig) for image in report.all_results() for sig in image.verified]
    indexes = [sig.outcome.facts.log_index for _, sig in passed]
    return {
        "result": json.dumps(verify_json(report), indent=2),
        "signatures": _lines(
            [f"{image.repository}@{sig.manifest}" for image, sig in passed if sig.manifest]
        ),
        "rekor-log-indexes": _lines([str(i) for i in indexes if i is not None]),
        "verified": "true" if report.ok else "false",
        "ok-count": str(sum(image.ok for image in report.images)),
        "failed-count": str(sum(not image.ok for image in report.images)),
    }


def verify_annotations(report: VerifyReport) -> list[Annotation]:
    """One `::error::` per image (or platform) that did not verify, naming it and why."""
    from shipsign.verify import ImageStatus

    found: list[Annotation] = []
    for image in report.all_results():
        if image.status is ImageStatus.VERIFIED:
            continue
        name = f"{image.repository}@{image.digest}" if image.digest else image.input
        if image.status is ImageStatus.UNREACHABLE and image.error is not None:
            found.append(("shipsign: could not verify", _message(name, image.error)))
            continue
        checks = sorted(
            {failure.check for sig in image.signatures for failure in sig.outcome.failures}
        )
        why = (
            f"no signature passed; failed checks: {', '.join(checks)}"
            if checks
            else f"{image.status.value}: looked in {', '.join(image.looked_in) or 'nothing'}"
        )
        found.append((f"shipsign: {image.status.value}", f"{name}: {why}"))
    return found


def _relative(path: Path, workspace: Path | None) -> str:
    if workspace is not None:
        try:
            return path.relative_to(workspace).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def sign_outputs(
    report: SignReport, result: dict[str, object], *, workspace: Path | None = None
) -> dict[str, str]:
    """`result` is `shipsign sign --output json` (given); the others list what was written.

    `signatures`: one `REPOSITORY@DIGEST` line per signature manifest (`.sig` or referrer).
    `bundles`: one line per file's bundle (written or already there), relative to
    `workspace`. The counts and log indexes take files as signatures too.
    """
    files = report.files
    return {
        "result": json.dumps(result, indent=2),
        "signatures": _lines(
            [
                f"{r.repository}@{r.signature_manifest}"
                for r in report.results
                if r.signature_manifest
            ]
        ),
        "rekor-log-indexes": _lines(
            [str(r.log_index) for r in report.results if r.log_index is not None]
            + [str(f.log_index) for f in files if f.log_index is not None]
        ),
        "verified": "true" if report.verified and report.signed else "false",
        "tags": _lines([t.reference for t in report.tags_moved]),
        "bundles": _lines(
            [_relative(f.bundle, workspace) for f in files if f.ok and f.bundle is not None]
        ),
        "ok-count": str(sum(r.ok for r in report.results) + sum(f.ok for f in files)),
        "failed-count": str(
            sum(not r.ok for r in report.results)
            + sum(i.error is not None for i in report.images)
            + sum(not f.ok for f in files)
        ),
    }


def sign_annotations(report: SignReport) -> list[Annotation]:
    """One `::error::` per image that could not be resolved, per signature not made or not
    verified after signing, and per file not signed."""
    found: list[Annotation] = [
        ("shipsign: could not sign", _message(image.input, image.error))
        for image in report.images
        if image.error is not None
    ]
    for result in report.failures():
        head = f"{result.reference} ({result.format.value}): {result.status.value}"
        if result.readback.value not in ("verified", "not-run"):
            head += f", read back: {result.readback.value}"
        head = "\n".join([head, *result.notes])
        message = _message(head, result.error) if result.error is not None else head
        found.append((f"shipsign: {result.status.value}", message))
    for failed in report.file_failures():
        head = f"{failed.path}: {failed.outcome.value}"
        if failed.detail:
            head += f"\n{failed.detail}"
        message = _message(head, failed.error) if failed.error is not None else head
        found.append(("shipsign: file not signed", message))
    return found


def upload_outputs(upload: UploadReport) -> dict[str, str]:
    """sign with `github-release`: the release's page and how many assets were sent."""
    return {"release-url": upload.release.html_url, "uploaded": str(upload.uploads)}


def upload_markdown(upload: UploadReport) -> str:
    """The step summary's line for the release: where it is, what was sent, what was not."""
    rel = upload.release
    tag = rel.tag.replace("`", "'")
    draft = " (draft)" if rel.draft else ""
    conflicts = len(upload.conflicts)
    left = f", {conflicts} left alone (another asset of the same name)" if conflicts else ""
    return (
        f"\nBundles on the GitHub release {tag}{draft}: {rel.html_url}: "
        f"{upload.uploads} uploaded, {len(upload.results) - upload.uploads - conflicts} "
        f"already there{left}.\n"
    )


def upload_annotations(upload: UploadReport) -> list[Annotation]:
    """One `::error::` per asset left alone because the release has another of its name."""
    return [
        (
            "shipsign: asset not uploaded",
            f"{c.name}: the release {upload.release.tag} already has an asset of this name "
            f"with other content; it was left alone{': ' + c.detail if c.detail else ''}",
        )
        for c in upload.conflicts
    ]


def gate_outputs(outcome: GateOutcome, result: dict[str, object]) -> dict[str, str]:
    """`result` is `shipsign gate --output json` (given). `verified` is true only when the gate
    passes outright (no image fails, every registry could be read); `ok-count` counts the
    images that passed their policy, `failed-count` and `failing` those that fail the gate."""
    from shipsign.gate.model import Verdict

    report = outcome.report
    failing = len(report.failing)
    return {
        "result": json.dumps(result, indent=2),
        "verified": "true" if not failing and not report.any_unreachable else "false",
        "conclusion": report.conclusion.value,
        "failing": str(failing),
        "images": str(len(report.images)),
        "ok-count": str(sum(i.verdict is Verdict.PASSED and not i.failing for i in report.images)),
        "failed-count": str(failing),
    }


def verify_release_outputs(report: ReleaseReport, result: dict[str, object]) -> dict[str, str]:
    """`result` is `shipsign verify-release --output json` (given); the counts are of the
    release's files (bundles and other signatures not counted)."""
    from shipsign.release.verify import AssetStatus

    files = [a for a in report.assets if a.status is not AssetStatus.SIGNATURE]
    indexes = [a.facts.log_index for a in files if a.ok and a.facts is not None]
    return {
        "result": json.dumps(result, indent=2),
        "rekor-log-indexes": _lines([str(i) for i in indexes if i is not None]),
        "verified": "true" if report.ok else "false",
        "release-url": report.release_url,
        "ok-count": str(sum(a.ok for a in files)),
        "failed-count": str(len(report.failed)),
    }


def release_annotations(report: ReleaseReport) -> list[Annotation]:
    """One `::error::` per release file that did not verify, naming it and why."""
    return [
        (f"shipsign: {a.status.value}", f"{a.name}: {a.detail or a.status.value}")
        for a in report.failed
    ]


def _message(head: str, exc: ShipsignError) -> str:
    return "\n".join([head, *(f"{k}: {v}" for k, v in exc.details())])


def error_annotation(exc: BaseException) -> Annotation:
    """The `::error::` for an error that stopped the run: what as title, then the details."""
    if isinstance(exc, ShipsignError):
        return ("shipsign: " + exc.what, _message(exc.what, exc))
    return (
        "shipsign: internal error",
        f"{type(exc).__name__}: {exc}\nthis is a bug in shipsign; the traceback is in the log",
    )


def failure_outputs(exc: BaseException) -> dict[str, str]:
    """The outputs of a run that an error stopped: nothing verified, the error as `result`."""
    code = exit_code_for(exc)
    if isinstance(exc, ShipsignError):
        error = {"class": error_class(code), "what": exc.what, **dict(exc.details())}
    else:
        error = {"class": error_class(code), "what": f"internal error: {type(exc).__name__}"}
    return {"result": json.dumps({"ok": False, "error": error}, indent=2), "verified": "false"}


def finish_outputs(values: dict[str, str], code: int, result_file: str) -> dict[str, str]:
    """Every output in `OUTPUT_NAMES` order: `values`, then the exit code's class and the
    defaults (`verified=false`, counts 0) for whatever the run did not get to set."""
    done = {
        **values,
        "error": error_class(code),
        "exit-code": str(code),
        "result-file": result_file,
    }
    defaults = {
        "verified": "false",
        "ok-count": "0",
        "failed-count": "0",
        "uploaded": "0",
        "failing": "0",
        "images": "0",
    }
    return {name: done.get(name, defaults.get(name, "")) for name in OUTPUT_NAMES}
