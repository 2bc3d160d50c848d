"""Run the shipsign step of an example workflow as the runner would: its `with:` map read from
the YAML, each `${{ expression }}` replaced by a value the test gives (an expression the test
does not know is an error, so an example cannot grow an input the test never exercised), every
input action.yml declares set as `INPUT_*` (the step's value, else action.yml's default), and
`shipsign.action.main.run(env)` called in-process with the job's variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration.action.runner import ActionRun, parse_output_file
from shipsign.action.inputs import env_name
from shipsign.action.main import run

__all__ = ["EXAMPLES", "evaluate", "example_step", "run_step", "runner_env", "triggers"]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / ".github" / "workflows" / "examples"
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
_RUNNER_PREFIXES = ("GITHUB_", "ACTIONS_", "RUNNER_", "INPUT_")


def example_step(name: str, command: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(workflow, step) of the one shipsign step with `command:` in example `name`."""
    workflow: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    steps = [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if re.fullmatch(r"[\w.-]+/shipsign@\S+", str(step.get("uses", "")))
        and step.get("with", {}).get("command") == command
    ]
    assert len(steps) == 1, f"{name}: {len(steps)} shipsign steps with command {command}"
    return workflow, steps[0]


def triggers(workflow: Mapping[Any, Any]) -> Any:
    """The workflow's `on:` (PyYAML, following YAML 1.1, reads the key `on` as True)."""
    return workflow["on"] if "on" in workflow else workflow[True]


def _text(value: object) -> str:
    """A `with:` value as the runner passes it: YAML booleans and numbers as their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(text: str, context: Mapping[str, str]) -> str:
    """Replace each `${{ expr }}` in `text` by `context[expr]`."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        assert expr in context, f"the test gives no value for ${{{{ {expr} }}}}"
        return context[expr]

    return _EXPRESSION.sub(one, text)


def runner_env(
    step: Mapping[str, Any],
    context: Mapping[str, str],
    *,
    extra_inputs: Mapping[str, str],
    tmp_path: Path,
    **variables: str,
) -> dict[str, str]:
    """The variables the runner sets for `step`: every input of action.yml (the step's value or
    action.yml's default, expressions evaluated), the step's inputs overridden or completed by
    `extra_inputs` (what only the local stack needs), the command files in `tmp_path`, and
    `variables` (GITHUB_WORKSPACE, GITHUB_EVENT_PATH, ...)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    given = {name: _text(value) for name, value in step.get("with", {}).items()}
    unknown = set(given) - set(action["inputs"])
    assert not unknown, f"inputs action.yml does not declare: {unknown}"
    clash = set(given) & set(extra_inputs)
    assert not clash, f"the test would override the example's own inputs: {clash}"
    env: dict[str, str] = {}
    for name, spec in action["inputs"].items():
        raw = given.get(name, _text(spec.get("default", "")))
        env[env_name(name)] = evaluate(raw, context)
    env.update({env_name(name): value for name, value in extra_inputs.items()})
    tmp_path.mkdir(parents=True, exist_ok=True)
    out, summary = tmp_path / "github_output", tmp_path / "step_summary"
    out.touch()
    summary.touch()
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_ACTOR="octocat",
        GITHUB_OUTPUT=str(out),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    env.update(variables)
    return env


def run_step(
    env: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *,
    ambient: Mapping[str, str] | None = None,
) -> ActionRun:
    """`shipsign.action.main.run(env)`; the process environment holds only `env` and
    `ambient` of the runner's variables (the OIDC endpoint is read from there)."""
    for name in list(os.environ):
        if name.startswith(_RUNNER_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in {**env, **(ambient or {})}.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = run(dict(env))
    captured = capsys.readouterr()
    return ActionRun(
        code=code,
        stdout=captured.out,
        stderr=captured.err,
        outputs=parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text()),
        summary=Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
    )
