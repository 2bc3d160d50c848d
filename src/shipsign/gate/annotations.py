"""Line annotations for the gate's findings: a check run's `annotations` and, where no check run
can be made (a fork's read-only token), workflow commands (`::error file=F,line=L::message`)
that GitHub turns into annotations itself (pure).

One annotation per place a failing image is used (level failure); one warning per place an
image that needs a look is used (not checked, registry unreachable, no policy, or with a
warning such as an unpinned tag); one warning per file not read. Failures come first, so a cap
keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipsign.gate.markdown import ordered_images, verdict_label
from shipsign.gate.model import GateImage, GateReport, Verdict

__all__ = [
    "Annotation",
    "escape_data",
    "escape_property",
    "report_annotations",
    "workflow_annotations",
]

_TITLE_MAX = 255
_MESSAGE_MAX = 4000  # GitHub takes 64 KB; a reader takes far less
_TITLES = {
    Verdict.PASSED: "Image fails the gate",  # passed the policy, but an option makes it fail
    Verdict.FAILED: "Image signature does not pass the policy",
    Verdict.UNSIGNED: "Image is not signed",
    Verdict.UNREACHABLE: "Image could not be checked",
    Verdict.NOT_COVERED: "No signing policy covers this image",
    Verdict.DYNAMIC: "Image reference built at run time",
    Verdict.INVALID: "Not a valid image reference",
}
_COMMANDS = {"failure": "error", "warning": "warning", "notice": "notice"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Annotation:
    """One finding on one line of one file (the path relative to the repository's top)."""

    path: str
    line: int  # 1-based; a finding on the file as a whole is put on line 1
    level: str  # failure | warning | notice (a check run's annotation_level)
    title: str
    message: str

    def for_check_run(self) -> dict[str, str | int]:
        """As a check run's `output.annotations[]` item."""
        return {
            "path": self.path,
            "start_line": self.line,
            "end_line": self.line,
            "annotation_level": self.level,
            "title": self.title[:_TITLE_MAX],
            "message": self.message[:_MESSAGE_MAX],
        }

    def workflow_command(self) -> str:
        """As a workflow command line (`::error file=…,line=…,title=…::message`)."""
        props = (
            f"file={escape_property(self.path)},line={self.line},"
            f"title={escape_property(self.title[:_TITLE_MAX])}"
        )
        command = _COMMANDS.get(self.level, "warning")
        return f"::{command} {props}::{escape_data(self.message[:_MESSAGE_MAX])}"


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF encoded, as the runner decodes them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as `escape_data`, and `:` and `,` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _join(prefix: str, path: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{path}" if prefix else path


def _message(image: GateImage, text: str) -> str:
    parts = [f"{text}: {verdict_label(image.verdict)}"]
    if text != image.image:
        parts[0] = f"{text} ({image.image}): {verdict_label(image.verdict)}"
    if image.detail:
        parts.append(image.detail)
    if image.digest:
        parts.append(f"digest {image.digest}")
    if image.signer:
        parts.append(f"signer {image.signer}")
    parts += image.warnings
    return "; ".join(parts)


def report_annotations(report: GateReport, *, path_prefix: str = "") -> list[Annotation]:
    """Every annotation for `report`, failures first. `path_prefix` is where the scanned root
    is in the repository (empty when it is the repository's top)."""
    failures: list[Annotation] = []
    warnings: list[Annotation] = []
    for image in ordered_images(report):
        if image.failing:
            level, into = "failure", failures
        elif image.verdict is not Verdict.PASSED or image.warnings:
            level, into = "warning", warnings
        else:
            continue
        title = _TITLES.get(image.verdict, "Image")
        if not image.failing and image.verdict is Verdict.PASSED:
            title = "Image passes, with a warning"
        for use in image.uses:
            into.append(
                Annotation(
                    path=_join(path_prefix, use.file),
                    line=max(1, use.line),
                    level=level,
                    title=title,
                    message=_message(image, use.text or image.image),
                )
            )
    for problem in report.problems:
        warnings.append(
            Annotation(
                path=_join(path_prefix, problem.file),
                line=max(1, problem.line),
                level="warning",
                title="File not read by the gate",
                message=problem.reason,
            )
        )
    return failures + warnings


def workflow_annotations(
    report: GateReport, *, path_prefix: str = "", limit: int | None = None
) -> list[str]:
    """Workflow command lines for `report`, failures first, at most `limit` (GitHub shows 10
    errors and 10 warnings per step, 50 per job; the rest are still in the log)."""
    lines = [a.workflow_command() for a in report_annotations(report, path_prefix=path_prefix)]
    return lines if limit is None else lines[:limit]
