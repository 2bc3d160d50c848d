"""Workflow commands and files, read back the way the runner reads them."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shipsign.action import workflow
from shipsign.secret import redact


def _parse_output_file(text: str) -> dict[str, str]:
    """Read a $GITHUB_OUTPUT file as the runner does (heredoc blocks only)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, delim = lines[i].split("<<", 1)
        end = lines.index(delim, i + 1)
        values[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return values


@given(st.dictionaries(st.sampled_from(["result", "verified", "signatures"]), st.text()))
def test_outputs_round_trip(
    tmp_path_factory: pytest.TempPathFactory, values: dict[str, str]
) -> None:
    values = {k: v.replace("\r", "") for k, v in values.items()}  # the runner splits on \n
    # Text that looks like a credential or a URL's query (`/?x`) is redacted on its way out.
    assume(all(redact(v) == v for v in values.values()))
    out = tmp_path_factory.mktemp("o") / "out"
    out.write_text("")
    workflow.write_outputs(values, env={"GITHUB_OUTPUT": str(out)})
    assert _parse_output_file(out.read_text()) == values


def test_each_output_gets_its_own_random_delimiter(tmp_path: Path) -> None:
    out = tmp_path / "out"
    workflow.write_outputs({"a": "1", "b": "2"}, env={"GITHUB_OUTPUT": str(out)})
    delims = re.findall(r"^\w+<<(\S+)$", out.read_text(), flags=re.M)
    assert len(delims) == 2
    assert len(set(delims)) == 2
    assert all(len(d) > 32 for d in delims)


def test_no_output_file_writes_nothing(tmp_path: Path) -> None:
    workflow.write_outputs({"a": "1"}, env={})
    assert workflow.append_step_summary("| a |", env={}) is False


def test_mask_covers_every_line() -> None:
    buf = io.StringIO()
    workflow.add_mask("line-one\nline-two", stream=buf)
    lines = set(buf.getvalue().splitlines())
    assert "::add-mask::line-one" in lines
    assert "::add-mask::line-two" in lines
    assert "::add-mask::line-one%0Aline-two" in lines


def test_annotation_escapes_message_and_title() -> None:
    buf = io.StringIO()
    workflow.annotate(
        "error", "100% broken\nsecond line", title="sign: ghcr.io, docker.io", stream=buf
    )
    assert buf.getvalue() == (
        "::error title=sign%3A ghcr.io%2C docker.io::100%25 broken%0Asecond line\n"
    )


def test_unknown_annotation_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown annotation level"):
        workflow.annotate("fatal", "x", stream=io.StringIO())


def test_step_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("before\n")
    assert workflow.append_step_summary("| a | b |", env={"GITHUB_STEP_SUMMARY": str(path)})
    assert path.read_text() == "before\n| a | b |\n"


def test_untrusted_text_runs_with_commands_paused() -> None:
    buf = io.StringIO()
    workflow.echo_untrusted("registry said:\n::add-path::/tmp/evil\n", stream=buf)
    first, *body, last = buf.getvalue().splitlines()
    token = first.removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert body == ["registry said:", "::add-path::/tmp/evil"]
    assert last == f"::{token}::"
    again = io.StringIO()
    workflow.echo_untrusted("x", stream=again)
    assert token not in again.getvalue()  # a fresh token each time: text cannot guess it


def test_prebuilt_command_lines_go_out_one_per_line_and_redacted() -> None:
    from shipsign.secret import Secret, remember

    remember(Secret("s3cret-in-a-path"))
    out = io.StringIO()
    workflow.commands(
        ["::error file=a.yaml,line=3,title=T::x", "::warning file=s3cret-in-a-path,line=1::y"],
        stream=out,
    )
    assert out.getvalue().splitlines() == [
        "::error file=a.yaml,line=3,title=T::x",
        "::warning file=***,line=1::y",
    ]
    for bad in ("::error::two\nlines", "not a command"):
        with pytest.raises(ValueError, match="workflow command"):
            workflow.commands([bad], stream=io.StringIO())


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_git_may_read_a_workspace_root_does_not_own(tmp_path: Path) -> None:
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    theirs.mkdir()
    ours.mkdir()
    os.chown(theirs, 1001, 1001)
    environ = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.x", "GIT_CONFIG_VALUE_0": "1"}
    assert workflow.let_git_read_the_workspace({"GITHUB_WORKSPACE": str(theirs)}, environ=environ)
    assert environ == {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "core.x",
        "GIT_CONFIG_VALUE_0": "1",  # the runner's own entry is kept
        "GIT_CONFIG_KEY_1": "safe.directory",
        "GIT_CONFIG_VALUE_1": str(theirs),
    }
    untouched: dict[str, str] = {}
    assert not workflow.let_git_read_the_workspace(
        {"GITHUB_WORKSPACE": str(ours)}, environ=untouched
    )
    assert untouched == {}
