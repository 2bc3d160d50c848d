"""The project's workflows, the example workflows and action.yml pass a real linter
(check-jsonschema with its vendored GitHub workflow and action schemas, run offline), and every
shipsign step uses only inputs and outputs that action.yml declares."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipsign.action.inputs import COMMANDS, INPUT_NAMES
from shipsign.action.outputs import OUTPUT_NAMES

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.rglob("*.yml"))
# `uses: ./` in this repository; `OWNER/shipsign@REF` in the examples users copy.
SHIPSIGN_USES = re.compile(r"^(\./?|[\w.-]+/shipsign@\S+)$")
OUTPUT_REF = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")


def lint(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema with a vendored schema; any network use would fail (dead proxy)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    argv = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    return subprocess.run(
        [*argv, *map(str, paths)], capture_output=True, text=True, env=env, timeout=120
    )


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def shipsign_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(job name, step) for every step that runs shipsign's action."""
    return [
        (name, step)
        for name, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if SHIPSIGN_USES.match(str(step.get("uses", "")))
    ]


def test_the_expected_workflows_exist() -> None:
    names = {p.relative_to(WORKFLOW_DIR).as_posix() for p in WORKFLOWS}
    assert {"ci.yml", "release.yml"} <= names
    examples = {"release-sign.yml", "verify-deployment.yml", "pr-gate.yml"}
    assert {f"examples/{name}" for name in examples} <= names


def test_workflows_pass_the_schema_linter() -> None:
    done = lint("vendor.github-workflows", *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_yml_passes_the_schema_linter() -> None:
    done = lint("vendor.github-actions", ROOT / "action.yml")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("schema", "text", "complaint"),
    [
        (
            "vendor.github-workflows",
            "on: push\njobs:\n  a:\n    steps:\n      - run: x\n",
            "runs-on",
        ),
        ("vendor.github-actions", "name: x\ndescription: y\nruns:\n  using: dokcer\n", "using"),
    ],
)
def test_the_linter_rejects_broken_files(
    tmp_path: Path, schema: str, text: str, complaint: str
) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(text)
    done = lint(schema, path)
    assert done.returncode == 1
    assert complaint in done.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_shipsign_steps_use_declared_inputs(path: Path) -> None:
    for job, step in shipsign_steps(load(path)):
        given = step.get("with", {})
        unknown = set(given) - set(INPUT_NAMES)
        assert not unknown, f"{job}: inputs that action.yml does not declare: {unknown}"
        command = given.get("command")
        assert command in COMMANDS, job
        if command == "verify":
            assert given.get("images"), job
        elif command == "sign":
            assert given.get("images") or given.get("files"), job
        else:
            assert "images" not in given, job


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_shipsign_outputs_referenced_exist(path: Path) -> None:
    ids = {step["id"] for _, step in shipsign_steps(load(path)) if "id" in step}
    for step_id, output in OUTPUT_REF.findall(path.read_text()):
        if step_id in ids:
            assert output in OUTPUT_NAMES, f"steps.{step_id}.outputs.{output}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_signing_jobs_may_request_an_identity_token(path: Path) -> None:
    workflow = load(path)
    for job, step in shipsign_steps(workflow):
        if step["with"]["command"] != "sign":
            continue
        permissions = workflow["jobs"][job].get("permissions") or workflow.get("permissions")
        assert isinstance(permissions, dict), f"{job}: no explicit permissions"
        assert permissions.get("id-token") == "write", job
        assert permissions.get("packages") == "write", job


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_release_jobs_may_write_the_release(path: Path) -> None:
    workflow = load(path)
    for job, step in shipsign_steps(workflow):
        if not step["with"].get("github-release"):
            continue
        permissions = workflow["jobs"][job].get("permissions") or workflow.get("permissions")
        assert isinstance(permissions, dict), f"{job}: no explicit permissions"
        assert permissions.get("contents") == "write", job


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_gate_jobs_may_report_on_the_pull_request(path: Path) -> None:
    workflow = load(path)
    for job, step in shipsign_steps(workflow):
        if step["with"]["command"] != "gate":
            continue
        on = workflow["on"] if "on" in workflow else workflow.get(True)  # type: ignore[call-overload]
        assert "pull_request" in on, "the gate runs on pull requests"  # YAML 1.1 reads `on` as True
        permissions = workflow["jobs"][job].get("permissions") or workflow.get("permissions")
        assert permissions == {
            "contents": "read",
            "pull-requests": "write",
            "checks": "write",
        }, job
        assert "id-token" not in permissions, "a gate signs nothing"
        checkout = workflow["jobs"][job]["steps"][0]
        assert str(checkout["uses"]).startswith("actions/checkout@")
        assert checkout["with"]["fetch-depth"] == 0, "the base commit must be in the clone"


def test_examples_are_where_github_does_not_run_them() -> None:
    """GitHub runs only files directly in .github/workflows; the examples are documentation."""
    examples = [p for p in WORKFLOWS if p.parent != WORKFLOW_DIR]
    assert examples
    assert all(p.parent == WORKFLOW_DIR / "examples" for p in examples)
