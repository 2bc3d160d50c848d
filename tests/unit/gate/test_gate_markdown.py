"""The gate's Markdown (pure): the table's rows and order, escaping of what a change can put in
a path or reference, the titles, the comment and its marker, and cutting to GitHub's limits."""

from __future__ import annotations

import re

import pytest

from shipsign.gate.markdown import (
    CHECK_RUN_LIMIT,
    COMMENT_LIMIT,
    check_run_title,
    comment_markdown,
    comment_marker,
    ordered_images,
    report_markdown,
    resolved_markdown,
    step_summary_markdown,
)
from shipsign.gate.model import FileProblem, GateImage, GateReport, ImageUse, RefKind, Verdict

SHA = "4b6c1f7e2d9a8b3c5e0f1a2b3c4d5e6f7a8b9c0d"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _use(file: str, line: int, text: str, kind: RefKind = RefKind.STATIC) -> ImageUse:
    image = None if kind is RefKind.DYNAMIC else text
    return ImageUse(file=file, line=line, text=text, image=image, kind=kind, source="compose")


def _image(name: str, verdict: Verdict, *, failing: bool = False, **kw: object) -> GateImage:
    uses = kw.pop("uses", (_use("compose.yaml", 4, name),))
    return GateImage(image=name, uses=uses, verdict=verdict, failing=failing, **kw)  # type: ignore[arg-type]


def _report(*images: GateImage, problems: tuple[FileProblem, ...] = ()) -> GateReport:
    return GateReport(
        images=images,
        problems=problems,
        files_checked=9,
        changed_files_source="git diff main...HEAD",
        head_sha=SHA,
    )


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_the_table_has_one_row_per_image_failing_first() -> None:
    ok = _image("ghcr.io/acme/ok:1", Verdict.PASSED, digest=DIGEST, signer="https://x/y@refs/tags/v1",
                format="bundle")  # fmt: skip
    bad = _image(
        "ghcr.io/acme/bad:2",
        Verdict.UNSIGNED,
        failing=True,
        digest=DIGEST,
        detail="no signature found",
        uses=tuple(_use(f"k8s/{n}.yaml", n, "ghcr.io/acme/bad:2") for n in range(1, 6)),
    )
    cold = _image("ghcr.io/acme/cold:3", Verdict.NOT_COVERED, warnings=("tag not pinned",))
    text = report_markdown(_report(ok, cold, bad))

    rows = _rows(text)
    assert len(rows) == 3
    assert rows[0].startswith("| ❌ | `ghcr.io/acme/bad:2` | `k8s/1.yaml:1`<br>`k8s/2.yaml:2`")
    assert "and 2 more" in rows[0]
    assert "`sha256:0123456789ab…`" in rows[0]
    assert "not signed: no signature found" in rows[0]
    assert rows[1].startswith("| ⚠️ | `ghcr.io/acme/cold:3`")
    assert "⚠️ tag not pinned" in rows[1]
    assert rows[2].startswith("| ✅ | `ghcr.io/acme/ok:1`")
    assert rows[2].endswith("| passed | `https://x/y@refs/tags/v1` | bundle |")
    assert text.startswith(
        f"Checked 3 images in 9 files (git diff main...HEAD, commit `{SHA[:12]}`): 1 failing, "
        "1 passed, 1 not covered by a policy."
    )
    assert [i.image for i in ordered_images(_report(ok, cold, bad))] == [
        "ghcr.io/acme/bad:2", "ghcr.io/acme/cold:3", "ghcr.io/acme/ok:1"
    ]  # fmt: skip


def test_dynamic_references_and_problems_are_listed_under_the_table() -> None:
    dyn = _image(
        "${REGISTRY}/app:${TAG}",
        Verdict.DYNAMIC,
        uses=(_use(".github/workflows/ci.yml", 12, "${REGISTRY}/app:${TAG}", RefKind.DYNAMIC),),
    )
    problem = FileProblem(file="charts/values.yaml", line=4, reason="not valid YAML at line 4")
    text = report_markdown(_report(_image("a:1", Verdict.PASSED), dyn, problems=(problem,)))
    assert len(_rows(text)) == 1  # the dynamic one is not a row
    assert "**Not checked** (references built at run time):" in text
    assert "- `.github/workflows/ci.yml:12`: `${REGISTRY}/app:${TAG}`" in text
    assert "**Files not read:**\n\n- `charts/values.yaml:4`: not valid YAML at line 4" in text
    assert "1 file not read" in text


def test_what_a_change_writes_cannot_break_the_table_or_mention_anyone() -> None:
    image = _image(
        "evil|image:1",
        Verdict.FAILED,
        failing=True,
        detail="signed by @octocat <script>alert(1)</script> *bold* [x](y)\nnext | line",
        uses=(_use("dir/a|b`c.yaml", 3, "evil|image:1"),),
    )
    (row,) = _rows(report_markdown(_report(image)))
    assert "`evil\\|image:1`" in row
    assert "``dir/a\\|b`c.yaml:3``" in row
    assert "&#64;octocat" in row
    assert "@octocat" not in row
    assert "\\<script\\>" in row
    assert "<script>" not in row
    assert "\\*bold\\*" in row
    assert "\\[x\\](y)" in row
    assert "next \\| line" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 8  # seven cells, none split


@pytest.mark.parametrize(
    ("images", "title"),
    [
        ((), "No image references in the changed files"),
        ((_image("a", Verdict.PASSED),), "The image passes the gate"),
        ((_image("a", Verdict.PASSED), _image("b", Verdict.PASSED)), "All 2 images pass the gate"),
        ((_image("a", Verdict.UNSIGNED, failing=True),), "1 of 1 image fails the gate"),
        ((_image("a", Verdict.UNSIGNED, failing=True), _image("b", Verdict.PASSED)),
         "1 of 2 images fail the gate"),
        ((_image("a", Verdict.UNREACHABLE), _image("b", Verdict.PASSED)),
         "1 image could not be checked (registry unreachable)"),
    ],
)  # fmt: skip
def test_titles(images: tuple[GateImage, ...], title: str) -> None:
    assert check_run_title(_report(*images)) == title


def test_thousands_of_images_are_cut_under_the_limit_with_failing_rows_first() -> None:
    images = [_image(f"ghcr.io/acme/ok{i}:1", Verdict.PASSED, digest=DIGEST) for i in range(4000)]
    images += [_image(f"ghcr.io/acme/bad{i}:1", Verdict.UNSIGNED, failing=True) for i in range(40)]
    problems = tuple(FileProblem(file=f"f{i}.yaml", reason="not valid YAML") for i in range(900))
    text = report_markdown(_report(*images, problems=problems))

    assert len(text.encode()) <= CHECK_RUN_LIMIT
    rows = _rows(text)
    assert all(f"bad{i}:1" in rows[i] for i in range(40))
    shown = len(rows)
    assert f"_… {4040 - shown} more rows not shown" in text
    assert "Checked 4040 images" in text
    assert "40 failing, 4000 passed, 900 files not read" in text
    assert "**Files not read:**" in text
    assert "- _… and " in text


def test_when_even_failing_rows_do_not_fit_the_note_counts_them() -> None:
    images = [_image(f"ghcr.io/acme/bad{i}:1", Verdict.UNSIGNED, failing=True) for i in range(3000)]
    text = report_markdown(_report(*images))
    assert len(text.encode()) <= CHECK_RUN_LIMIT
    left_out = 3000 - len(_rows(text))
    assert f"_… {left_out} more rows ({left_out} of them failing) not shown" in text


def test_the_limit_counts_bytes_not_characters() -> None:
    signer = "🔏" * 250  # 4 bytes each
    images = [_image(f"r/x{i}:1", Verdict.PASSED, signer=signer) for i in range(300)]
    text = report_markdown(_report(*images), limit=CHECK_RUN_LIMIT)
    assert len(text.encode()) <= CHECK_RUN_LIMIT < len(signer.encode()) * 300


def test_the_comment_starts_with_its_marker_and_fits() -> None:
    images = [_image(f"r/bad{i}:1", Verdict.UNSIGNED, failing=True) for i in range(5000)]
    body = comment_markdown(_report(*images), check_run_url="https://github.com/a/b/runs/1")
    assert body.startswith("<!-- shipsign-gate: shipsign gate -->\n### ❌ shipsign gate: ")
    assert len(body) <= COMMENT_LIMIT
    assert len(body.encode()) <= COMMENT_LIMIT
    assert body.endswith("[Details in the check run](https://github.com/a/b/runs/1)\n")


def test_markers_differ_per_check_name_and_cannot_close_early() -> None:
    assert comment_marker() == "<!-- shipsign-gate: shipsign gate -->"
    assert comment_marker("gate (prod)") != comment_marker()
    assert comment_marker("x --> <b>") == "<!-- shipsign-gate: x  b -->"


def test_resolved_and_step_summary() -> None:
    passed = _report(_image("a:1", Verdict.PASSED))
    resolved = resolved_markdown(passed)
    assert resolved.startswith(comment_marker() + "\n### ✅ shipsign gate: resolved")
    assert f"Nothing fails the gate any more at commit `{SHA[:12]}`." in resolved
    summary = step_summary_markdown(_report(_image("b:1", Verdict.UNSIGNED, failing=True)))
    assert summary.startswith(
        "### ❌ shipsign gate: 1 of 1 image fails the gate\n\nChecked 1 image"
    )
    assert "| ❌ | `b:1` |" in summary
