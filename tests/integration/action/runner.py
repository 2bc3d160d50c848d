"""Run `shipsign action` the way the GitHub runner does: INPUT_* variables, the command files
($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY), and workflow commands read back from stdout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipsign.action.inputs import INPUT_NAMES, env_name
from shipsign.cli import main

__all__ = ["ActionRun", "action_env", "parse_output_file", "run_action", "run_action_process"]

# What a runner passes into a container action besides the inputs (a subset that matters here).
_RUNNER_PREFIXES = ("GITHUB_", "ACTIONS_", "RUNNER_", "INPUT_")
_BLOCK = re.compile(r"^([\w-]+)<<(.+)$")


def parse_output_file(text: str) -> dict[str, str]:
    """Parse a $GITHUB_OUTPUT file as the runner does: `name<<DELIM` blocks or `name=value`."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        block = _BLOCK.match(line)
        if block is None:
            name, _, value = line.partition("=")
            values[name] = value
            continue
        name, delim = block.groups()
        body: list[str] = []
        for inner in lines:
            if inner == delim:
                break
            body.append(inner)
        else:
            raise AssertionError(f"output {name!r}: delimiter {delim!r} never closes the block")
        assert name not in values, f"output {name!r} set twice"
        values[name] = "\n".join(body)
    return values


@dataclass(frozen=True)
class ActionRun:
    """What one run of the action did: exit code, log streams and the runner's files."""

    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def masks(self) -> list[str]:
        return [
            ln.removeprefix("::add-mask::") for ln in self.lines() if ln.startswith("::add-mask::")
        ]

    def errors(self) -> list[str]:
        """Every `::error ...::` annotation line."""
        return [ln for ln in self.lines() if ln.startswith("::error")]

    def assert_masks_first(self) -> None:
        """Every `::add-mask::` line comes before any other line of the log."""
        kinds = [ln.startswith("::add-mask::") for ln in self.lines()]
        assert kinds == sorted(kinds, reverse=True), self.stdout

    def assert_masked(self, secrets: Iterable[str]) -> None:
        """Each secret was masked (and so never shows in the log), before any other line."""
        values = list(secrets)
        self.assert_masks_first()
        for secret in values:
            assert secret in self.masks(), "a credential was not masked"
        self.assert_hidden(values)

    def assert_hidden(self, secrets: Iterable[str]) -> None:
        """Each secret appears only inside `::add-mask::` lines: not in logs, outputs, summary."""
        for secret in secrets:
            assert secret, "an empty secret cannot be checked"
            for line in self.lines():
                if secret in line:
                    assert line == f"::add-mask::{secret}", f"secret leaked in: {line!r}"
            assert secret not in self.stderr
            assert secret not in self.summary
            for name, value in self.outputs.items():
                assert secret not in value, f"secret leaked in output {name}"


def action_env(tmp_path: Path, inputs: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The variables a runner sets for a container action step with these inputs."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    out.touch()
    summary.touch()
    env = {env_name(name): "" for name in INPUT_NAMES}  # the runner sets every declared input
    env.update({env_name(name): value for name, value in inputs.items()})
    unknown = set(inputs) - set(INPUT_NAMES)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_ACTOR="octocat",
        GITHUB_OUTPUT=str(out),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    env.update(extra)
    return env


def _finish(code: int, stdout: str, stderr: str, env: Mapping[str, str]) -> ActionRun:
    return ActionRun(
        code=code,
        stdout=stdout,
        stderr=stderr,
        outputs=parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text()),
        summary=Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
    )


def run_action(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: Mapping[str, str]
) -> ActionRun:
    """`shipsign action` in-process via `main`, with exactly the runner's variables set."""
    for name in list(os.environ):
        if name.startswith(_RUNNER_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = main(["action"])
    captured = capsys.readouterr()
    return _finish(code, captured.out, captured.err, env)


def run_action_process(env: Mapping[str, str]) -> ActionRun:
    """The installed `shipsign action` as a child process, as the container's entry point."""
    script = shutil.which("shipsign", path=str(Path(sys.executable).parent))
    assert script is not None, "the shipsign console script is not installed"
    base = {k: v for k, v in os.environ.items() if not k.startswith(_RUNNER_PREFIXES)}
    done = subprocess.run(
        [script, "action"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return _finish(done.returncode, done.stdout, done.stderr, env)
