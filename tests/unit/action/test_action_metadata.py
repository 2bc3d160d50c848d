"""action.yml and the Dockerfile agree with the entry point: inputs, outputs, defaults, image."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipsign.action.inputs import COMMANDS, INPUT_NAMES, env_name, parse_inputs
from shipsign.action.outputs import OUTPUT_NAMES
from shipsign.gate.markdown import DEFAULT_CHECK_NAME

ROOT = Path(__file__).resolve().parents[3]


def load_action() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return doc


def test_inputs_are_exactly_what_the_entry_point_reads() -> None:
    assert list(load_action()["inputs"]) == list(INPUT_NAMES)


def test_outputs_are_exactly_what_the_entry_point_writes() -> None:
    assert list(load_action()["outputs"]) == list(OUTPUT_NAMES)


def test_every_input_and_output_is_described() -> None:
    action = load_action()
    for section in ("inputs", "outputs"):
        for name, spec in action[section].items():
            assert len(spec.get("description", "")) > 10, f"{section}.{name} has no description"


def test_documented_defaults() -> None:
    inputs = load_action()["inputs"]
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert inputs["summary"]["default"] == "true"
    assert inputs["verify-after-sign"]["default"] == "true"
    assert inputs["command"]["required"] is True
    # sign may have only files, and gate and verify-release take no images at all
    assert inputs["images"]["required"] is False
    assert inputs["images"]["default"] == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_action_yml_defaults_mean_what_the_code_defaults_mean(command: str) -> None:
    """The runner sets every input, defaults included: they must parse as "not given"."""
    env = {
        env_name(name): str(spec.get("default", ""))
        for name, spec in load_action()["inputs"].items()
        if name != "github-token"  # an expression the runner evaluates
    }
    needed = {env_name("command"): command}
    if command == "verify-release":
        needed[env_name("github-release")] = "v1.2.3"
    env.update(needed)
    assert parse_inputs(env) == parse_inputs(needed)


def test_the_default_check_name_is_the_gates() -> None:
    assert load_action()["inputs"]["check-name"]["default"] == DEFAULT_CHECK_NAME


IMAGE = re.compile(r"docker://ghcr\.io/[a-z0-9-]+/shipsign@sha256:[0-9a-f]{64}")


def test_runs_a_prebuilt_image_pinned_by_digest() -> None:
    runs = load_action()["runs"]
    assert runs["using"] == "docker"
    assert IMAGE.fullmatch(runs["image"]), runs["image"]
    assert set(runs) == {"using", "image"}


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split into build stages."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    stages: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_base_image_is_pinned_by_digest() -> None:
    preamble, *stages = dockerfile_stages()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", "\n".join(preamble), re.MULTILINE))
    assert re.fullmatch(r"python:3\.\d+-slim-\w+@sha256:[0-9a-f]{64}", args["PYTHON_IMAGE"])
    assert len(stages) == 2, "a builder stage and the final stage"
    for stage in stages:
        assert re.match(r"FROM \$\{PYTHON_IMAGE\}( AS \w+)?$", stage[0]), stage[0]


def test_final_stage_copies_the_virtualenv_and_runs_the_action() -> None:
    builder, final = dockerfile_stages()[1:]
    assert any("pip wheel" in line for line in builder)
    assert any("--only-binary=:all:" in line for line in builder)
    # The final stage installs git and nothing else (the gate's `git diff`), then copies.
    assert [line.split()[0] for line in final] == ["FROM", "ENV", "RUN", "COPY", "ENTRYPOINT"]
    assert "PYTHONDONTWRITEBYTECODE=1" in final[1]
    installs = final[2].split("apt-get install", 1)[1].split("&&")[0].split()
    assert installs == ["-y", "--no-install-recommends", "git"]
    assert "rm -rf /var/lib/apt/lists/*" in final[2]
    assert final[3].startswith("COPY --from=builder ")
    assert final[4] == 'ENTRYPOINT ["shipsign", "action"]'


def test_entrypoint_is_the_installed_console_script() -> None:
    (script,) = entry_points(group="console_scripts", name="shipsign")
    assert script.value == "shipsign.cli:run"


def test_docker_context_holds_what_builds_the_wheel() -> None:
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("*") :][:4] == ["*", "!pyproject.toml", "!README.md", "!src/"]
