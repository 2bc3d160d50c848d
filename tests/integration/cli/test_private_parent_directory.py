"""A job's user working below a directory it may not search (a private temporary directory
made by root): looking for the policy file and the clone's top must not crash, and bad input is
still exit 2 with its own message."""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import pytest

import shipsign
from integration.blobs.unprivileged import run_as_nobody


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to enter a directory as nobody")
def test_commands_work_below_a_directory_this_user_cannot_search(tmp_path: Path) -> None:
    private = tmp_path / "private"
    work = private / "work"
    work.mkdir(parents=True)
    work.chmod(0o777)
    private.chmod(0o700)  # root's: nobody may not look inside, or stat anything below
    # This machine's Python lives under /root, which nobody cannot read either: load what the
    # commands import lazily now, so that the child finds it in memory.
    for module in pkgutil.walk_packages(shipsign.__path__, "shipsign."):
        importlib.import_module(module.name)
    try:
        code, err = run_as_nobody(["sign-blob", "missing.tar.gz"], cwd=work)
        assert code == 2, err
        assert "missing.tar.gz" in err
        assert "internal error" not in err
        code, err = run_as_nobody(["gate", "--base", "main"], cwd=work)
        assert code == 2, err  # not a clone: git says so, and nothing crashed first
        assert "internal error" not in err
    finally:
        private.chmod(0o755)
