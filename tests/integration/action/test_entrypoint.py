"""The Action's entry point started as the runner starts the container (container.py): root in
a workspace owned by another user, a read-only root filesystem, INPUT_* with the runner's name
mangling, the command files under /github/file_commands. On every exit path every output is
written (`verified=false`, the error class, the counts); the result file's path is relative to
the workspace and the file belongs to the workspace's owner; and a token, a registry password
and a remembered `Secret` appear nowhere: not in the log, the outputs, the step summary or any
file written, with debug logging on."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from integration.action.container import Container, Run, container_env
from integration.action.runner import action_env
from shipsign.action.outputs import OUTPUT_NAMES
from stack.raw_registry import RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

TOKEN = "ghs_" + "Tok3nValue" * 4  # the job's GITHUB_TOKEN: not JWT-shaped, only known as one
ISSUER = "https://token.actions.githubusercontent.com"


def secrets_of(registry: Registry) -> list[str]:
    assert registry.password
    return [TOKEN, registry.password]


def assert_nowhere(run: Run, secrets: list[str]) -> None:
    """No secret outside `::add-mask::` lines: log, outputs, summary, every workspace file."""
    for secret in secrets:
        for line in run.stdout.splitlines():
            if secret in line:
                assert line == f"::add-mask::{secret}", f"leaked: {line!r}"
        assert secret not in run.stderr
        assert secret not in run.summary
        for name, value in run.outputs.items():
            assert secret not in value, f"leaked in output {name}"
        for path in run.workspace.rglob("*"):
            if path.is_file():
                assert secret not in path.read_text(errors="replace"), f"leaked in {path}"


def assert_all_outputs(run: Run, *, error: str, code: int) -> None:
    assert run.code == code, run.stdout + run.stderr
    assert list(run.outputs) == list(OUTPUT_NAMES)
    assert run.outputs["error"] == error
    assert run.outputs["exit-code"] == str(code)
    assert run.outputs["verified"] == ("true" if code == 0 else "false")
    assert run.outputs["ok-count"].isdigit()
    assert run.outputs["failed-count"].isdigit()


def assert_result_file(run: Run, name: str, uid: int) -> dict[str, object]:
    assert run.outputs["result-file"] == name  # relative to the workspace, as given
    path = run.workspace / name
    assert path.stat().st_uid == uid, "the file must belong to the workspace's owner"
    assert path.parent.stat().st_uid == uid, "and so must the folder made for it"
    doc: dict[str, object] = json.loads(path.read_text())
    assert doc == json.loads(run.outputs["result"])
    return doc


@pytest.fixture
def box(tmp_path: Path) -> Container:
    return Container(tmp_path / "box")


def base_inputs(registry: Registry, stack: SigstoreStack, box: Container) -> dict[str, str]:
    shutil.copy(stack.trust_config, box.workspace / "trust.json")  # a workspace-relative input
    return {
        "trust-config": "trust.json",
        "github-token": TOKEN,
        "registry-logins": f"{registry.host} {registry.username} {registry.password}",
        "insecure-registries": registry.host,
        "result-file": "out/result.json",
    }


def test_bad_input_still_writes_every_output(
    box: Container, basic_registry: Registry, sigstore_stack: SigstoreStack
) -> None:
    inputs = {**base_inputs(basic_registry, sigstore_stack, box), "command": "verify"}
    inputs |= {"images": "x", "format": "nonsense"}
    run = box.run(container_env(inputs, RUNNER_DEBUG="1"))
    assert_all_outputs(run, error="input", code=2)
    assert (run.outputs["ok-count"], run.outputs["failed-count"]) == ("0", "0")
    doc = assert_result_file(run, "out/result.json", box.uid)
    assert doc["ok"] is False
    assert doc["error"] == {
        "class": "input",
        "what": "input `format` has an unknown value",
        "expected": "any | bundle | legacy",
        "found": "'nonsense'",
    }
    assert any("input `format`" in line for line in run.stdout.splitlines() if "::error" in line)
    assert_nowhere(run, secrets_of(basic_registry))


def test_unsigned_image_is_a_negative_result_with_counts(
    box: Container,
    basic_registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    manifest = RawClient(basic_registry, repo).push_image("v1", layer=os.urandom(32))
    image = f"{basic_registry.host}/{repo}@{sha256(manifest)}"
    inputs = {**base_inputs(basic_registry, sigstore_stack, box), "command": "verify"}
    inputs |= {"images": image, "certificate-identity": github_oidc.san}
    inputs["certificate-oidc-issuer"] = ISSUER
    run = box.run(container_env(inputs, RUNNER_DEBUG="1"))
    assert_all_outputs(run, error="negative", code=1)
    assert (run.outputs["ok-count"], run.outputs["failed-count"]) == ("0", "1")
    assert_result_file(run, "out/result.json", box.uid)
    assert "DEBUG shipsign" in run.stderr, "debug logging was on, through the redacting formatter"
    assert_nowhere(run, secrets_of(basic_registry))


def test_unreachable_registry_and_a_result_file_outside_the_workspace(
    box: Container, basic_registry: Registry, sigstore_stack: SigstoreStack
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    inputs = {**base_inputs(basic_registry, sigstore_stack, box), "command": "verify"}
    inputs |= {
        "images": f"{closed}/acme/app@sha256:{'a' * 64}",
        "certificate-identity": "https://github.com/acme/app/.github/workflows/r.yml@refs/tags/v1",
        "certificate-oidc-issuer": ISSUER,
        "insecure-registries": closed,
        "result-file": "../escape.json",
    }
    run = box.run(container_env(inputs, RUNNER_DEBUG="1"))
    # unreachable (3) wins over the refused result file (2): the worse of the two
    assert_all_outputs(run, error="unreachable", code=3)
    assert run.outputs["result-file"] == ""
    assert "the result file must be inside the workspace" in run.stdout
    assert not (box.workspace.parent / "escape.json").exists()
    assert_nowhere(run, secrets_of(basic_registry))


def test_the_root_filesystem_is_read_only_in_the_box(box: Container) -> None:
    """The simulation holds: nothing outside the workspace can be written from inside."""
    env = container_env({"command": "verify", "images": "x", "result-file": "/etc/x.json"})
    run = box.run(env)
    assert_all_outputs(run, error="input", code=2)
    assert "the result file must be inside the workspace" in run.stdout
    assert not Path("/etc/x.json").exists()


class _Exploding(dict[str, str]):
    """A runner environment that breaks while the inputs are read: a stand-in for any bug.

    The exception quotes the token, the password and a remembered Secret, and chains a cause
    that quotes them again, as a library's error might."""

    def __init__(self, env: dict[str, str], leak: str) -> None:
        super().__init__(env)
        self.leak = leak

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        if key == "INPUT_IMAGES":
            try:
                raise ConnectionError(f"cause {self.leak}")
            except ConnectionError as cause:
                raise RuntimeError(f"boom {self.leak}") from cause
        return super().get(key, default)


def test_an_internal_error_is_reported_redacted_with_every_output(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    basic_registry: Registry,
) -> None:
    from shipsign.action.main import run as run_action_main
    from shipsign.secret import Secret, remember

    assert basic_registry.password
    remembered = "s3cret-" + os.urandom(8).hex()
    remember(Secret(remembered))  # a credential that entered elsewhere in this process
    leak = f"{TOKEN} {basic_registry.password} {remembered}"
    inputs = {
        "command": "verify",
        "github-token": TOKEN,
        "registry-logins": f"{basic_registry.host} u {basic_registry.password}",
    }
    env = action_env(tmp_path, inputs, RUNNER_DEBUG="1")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = run_action_main(_Exploding(env, leak))
    out, err = capsys.readouterr()
    assert code == 4
    outputs = Path(env["GITHUB_OUTPUT"]).read_text()
    assert "RuntimeError" in out  # the annotation names the bug
    assert "Traceback" in err
    assert "ConnectionError" in err
    assert "exit-code<<" in outputs
    assert "internal" in outputs
    assert "verified<<" in outputs
    for secret in (TOKEN, basic_registry.password, remembered):
        masked = [ln for ln in out.splitlines() if secret in ln]
        assert all(ln == f"::add-mask::{secret}" for ln in masked), masked
        assert secret not in err
        assert secret not in outputs
        assert secret not in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
