"""`command: gate` started as the runner starts the Action's container (container.py): root, in
a clone that belongs to the runner's user. git refuses such a repository unless told to trust
it; the gate's `base:` comparison must still work, and leave nothing of root's behind. Without
a token there is no check run: the findings are `::error file=,line=` lines in the log."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from integration.action.container import Container, container_env
from shipsign.action.outputs import OUTPUT_NAMES
from stack.raw_registry import RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import SigstoreStack

ISSUER = "https://token.actions.githubusercontent.com"
IDENTITY = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "safe.directory=*", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def box(tmp_path: Path) -> Container:
    return Container(tmp_path / "box")


def test_the_gate_compares_with_git_in_the_runner_users_clone(
    box: Container, registry: Registry, repo: str, sigstore_stack: SigstoreStack
) -> None:
    manifest = RawClient(registry, repo).push_image("v1", layer=os.urandom(32))
    image = f"{registry.host}/{repo}@{sha256(manifest)}"
    ws = box.workspace
    git(ws, "init", "-q", "-b", "main")
    (ws / ".shipsign.toml").write_text(
        f'[[policy]]\nimages = ["{image.rsplit("/", 1)[0]}/*"]\nissuer = "{ISSUER}"\n'
        f'identity = "{IDENTITY}"\n'
    )
    shutil.copy(sigstore_stack.trust_config, ws / "trust.json")
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "base")
    git(ws, "checkout", "-q", "-b", "feature")
    (ws / "deploy").mkdir()
    (ws / "deploy" / "app.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n"
        f"    - name: app\n      image: {image}\n"
    )
    git(ws, "add", "-A")
    git(ws, "commit", "-q", "-m", "deploy an unsigned image")
    subprocess.run(["chown", "-R", f"{box.uid}:{box.uid}", str(ws)], check=True)

    inputs = {
        "command": "gate",
        "base": "main",
        "trust-config": "trust.json",
        "insecure-registries": registry.host,
        "comment": "on-failure",
        "check-name": "shipsign gate",
    }
    run = box.run(container_env(inputs))

    assert run.code == 1, run.stdout + run.stderr
    assert list(run.outputs) == list(OUTPUT_NAMES)
    assert (run.outputs["conclusion"], run.outputs["failing"], run.outputs["images"]) == (
        "failure",
        "1",
        "1",
    )
    assert "git diff main...HEAD" in run.stdout
    errors = [ln for ln in run.stdout.splitlines() if ln.startswith("::error file=")]
    assert len(errors) == 1
    assert errors[0].startswith("::error file=deploy/app.yaml,line=8,")
    assert image.split("@")[0] in run.summary
    left = [p for p in ws.rglob("*") if p.lstat().st_uid != box.uid]
    assert left == [], "git, run as root, must leave nothing of root's in the clone"
