"""Run shipsign's CLI as an unprivileged user when the tests run as root, so that a file with
mode 000 is really unreadable: root reads anything, so the CLI runs in a forked child that has
dropped to `nobody` (uid and gid 65534) before it touches the files."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["NOBODY", "run_as_nobody", "world_readable_dir"]

NOBODY = 65534


@contextlib.contextmanager
def world_readable_dir() -> Iterator[Path]:
    """A folder `nobody` can reach (pytest's own temporary folders are root's alone, 0700),
    removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="shipsign-unreadable-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_as_nobody(argv: list[str], *, cwd: Path | None = None) -> tuple[int, str]:
    """`shipsign argv` in a child process running as nobody, in `cwd` (entered as root, so it
    may lie below a directory nobody cannot search): (exit code, stderr)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        code, err = 99, ""
        try:
            if cwd is not None:
                os.chdir(cwd)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            from shipsign.cli import main

            captured = io.StringIO()
            with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
            err = captured.getvalue()
        except BaseException as exc:  # report anything to the parent, whatever it is
            err = f"child failed: {type(exc).__name__}: {exc}"
        finally:
            with os.fdopen(write_end, "w") as out:
                out.write(json.dumps({"code": code, "err": err}))
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answer = json.loads(pipe.read() or '{"code": 98, "err": "no answer from the child"}')
    os.waitpid(pid, 0)
    sys.stderr.flush()
    return int(answer["code"]), str(answer["err"])
