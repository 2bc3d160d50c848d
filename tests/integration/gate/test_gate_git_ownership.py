"""A clone owned by another user: git refuses to read it, and the gate says why and how to fix
it instead of blaming a shallow checkout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shipsign.errors import InputError
from shipsign.gate.changes import git_changed_files


def _git(root: Path, *args: str) -> str:
    argv = ["git", "-c", "safe.directory=*", "-c", "user.name=t", "-c", "user.email=t@e", *args]
    done = subprocess.run(argv, cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the clone to another user")
def test_a_clone_of_another_user_is_named_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "clone"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "a.yaml").write_text("kind: Pod\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    base = _git(root, "rev-parse", "HEAD")
    (root / "b.yaml").write_text("kind: Pod\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "change")
    for path in [root, *root.rglob("*")]:
        os.lchown(path, 65534, 65534)  # nobody
    monkeypatch.setenv("HOME", str(tmp_path))  # no global safe.directory of this machine's
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    with pytest.raises(InputError) as caught:
        git_changed_files(root, base)
    err = caught.value
    assert "another user owns it" in err.what
    assert f"safe.directory {root}" in err.hint
    # with the fix, the same clone lists its change
    (tmp_path / ".gitconfig").write_text(f"[safe]\n\tdirectory = {root}\n")
    assert git_changed_files(root, base).paths == ("b.yaml",)
