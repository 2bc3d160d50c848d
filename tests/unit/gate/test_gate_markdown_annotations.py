"""Annotations (pure): one per place a failing image is used, warnings for what needs a look,
failures first; as check-run items and as workflow commands with GitHub's escaping."""

from __future__ import annotations

from shipsign.gate.annotations import (
    Annotation,
    escape_data,
    escape_property,
    report_annotations,
    workflow_annotations,
)
from shipsign.gate.model import FileProblem, GateImage, GateReport, ImageUse, RefKind, Verdict


def _use(file: str, line: int, text: str = "app:1") -> ImageUse:
    return ImageUse(file=file, line=line, text=text, image=text, kind=RefKind.STATIC,
                    source="dockerfile")  # fmt: skip


def _report() -> GateReport:
    passed = GateImage(image="ok:1", uses=(_use("ok.yaml", 2, "ok:1"),), verdict=Verdict.PASSED)
    pinned = GateImage(
        image="docker.io/library/x:1",
        uses=(_use("x.yaml", 0, "x:1"),),
        verdict=Verdict.PASSED,
        warnings=("tag not pinned to a digest",),
    )
    bad = GateImage(
        image="bad:1",
        uses=(_use("a.yaml", 3, "bad:1"), _use("b.yaml", 9, "bad:1")),
        verdict=Verdict.UNSIGNED,
        failing=True,
        detail="no signature",
        digest="sha256:" + "f" * 64,
    )
    problem = FileProblem(file="c.yaml", reason="not valid YAML")
    return GateReport(images=(passed, pinned, bad), problems=(problem,))  # fmt: skip


def test_failures_first_then_warnings_and_passing_images_are_quiet() -> None:
    notes = report_annotations(_report(), path_prefix="svc/")
    assert [(a.path, a.line, a.level) for a in notes] == [
        ("svc/a.yaml", 3, "failure"),
        ("svc/b.yaml", 9, "failure"),
        ("svc/x.yaml", 1, "warning"),  # line 0: the file as a whole, shown on line 1
        ("svc/c.yaml", 1, "warning"),
    ]
    assert notes[0].title == "Image is not signed"
    assert notes[0].message == ("bad:1: not signed; no signature; digest sha256:" + "f" * 64)
    assert notes[2].message == "x:1 (docker.io/library/x:1): passed; tag not pinned to a digest"
    assert notes[3].title == "File not read by the gate"


def test_a_check_run_item_has_githubs_fields() -> None:
    item = Annotation(path="a.yaml", line=4, level="failure", title="t" * 300,
                      message="m" * 10_000).for_check_run()  # fmt: skip
    assert set(item) == {"path", "start_line", "end_line", "annotation_level", "title", "message"}
    assert (item["start_line"], item["end_line"], item["annotation_level"]) == (4, 4, "failure")
    assert len(str(item["title"])) == 255
    assert len(str(item["message"])) == 4000


def test_workflow_commands_are_escaped_as_github_decodes_them() -> None:
    note = Annotation(
        path="dir/a,b:c%.yaml",
        line=7,
        level="failure",
        title="Image: not signed, 100%",
        message="line one\r\nline two: 50% done, ok",
    )
    assert note.workflow_command() == (
        "::error file=dir/a%2Cb%3Ac%25.yaml,line=7,title=Image%3A not signed%2C 100%25"
        "::line one%0D%0Aline two: 50%25 done, ok"
    )
    assert escape_data("%\r\n:,") == "%25%0D%0A:,"
    assert escape_property("%\r\n:,") == "%25%0D%0A%3A%2C"


def test_workflow_annotations_levels_and_limit() -> None:
    lines = workflow_annotations(_report())
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::error", "::warning",
                                                         "::warning"]  # fmt: skip
    assert lines[0].startswith("::error file=a.yaml,line=3,title=Image is not signed::bad:1: ")
    assert workflow_annotations(_report(), limit=1) == lines[:1]
