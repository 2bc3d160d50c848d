"""Start `shipsign action` the way the runner starts the Action's container, without Docker.

The runner runs `docker run --workdir /github/workspace -v <workspace>:/github/workspace
-v <file commands>:/github/file_commands ... -e INPUT_... image`: as root, in a workspace that
belongs to the runner's user, with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY under
/github/file_commands. Here a mount namespace (`unshare --mount`, as root) builds that view:
a tmpfs root holding read-only bind mounts of /usr, /etc and this checkout (the installed
console script and its virtualenv), and writable mounts only at /github/workspace and
/github/file_commands; the tmpfs is then made read-only and the process `chroot`s into it.
What is not simulated: the image's own filesystem (the Dockerfile's python:3.12-slim base) and
a network namespace (the container shares the host's loopback, where the local stack is).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from integration.action.runner import parse_output_file
from shipsign.action.inputs import INPUT_NAMES, env_name

__all__ = ["Container", "container_env"]

REPO = Path(__file__).resolve().parents[3]
_HOST_DIRS = ("usr", "etc", "dev")


def container_env(inputs: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The variables the runner passes into a container action: every declared input (the
    runner's name mangling: `INPUT_` + upper case, spaces to `_`, hyphens kept), the command
    files under /github/file_commands, the workspace at /github/workspace."""
    unknown = set(inputs) - set(INPUT_NAMES)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    env = {env_name(name): "" for name in INPUT_NAMES}
    env.update({env_name(name): value for name, value in inputs.items()})
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_ACTOR="octocat",
        GITHUB_WORKSPACE="/github/workspace",
        GITHUB_OUTPUT="/github/file_commands/set_output_1",
        GITHUB_STEP_SUMMARY="/github/file_commands/step_summary_1",
        HOME="/github/home",
        PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


@dataclass(frozen=True)
class Run:
    """One run: exit code, log streams, the command files and every file left in the workspace."""

    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


class Container:
    """A workspace owned by `uid` and a file-commands folder, in `base` on the host."""

    def __init__(self, base: Path, *, uid: int = 1001) -> None:
        self.uid = uid
        self.workspace = base / "workspace"
        self.file_commands = base / "file_commands"
        self._root = base / "root"
        self._launch = base / "launch"
        for path in (self.workspace, self.file_commands, self._root, self._launch):
            path.mkdir(parents=True)
        os.chown(self.workspace, uid, uid)

    def run(self, env: Mapping[str, str]) -> Run:
        """Run the checkout's installed `shipsign action` inside the namespace; wait for it."""
        for name in ("set_output_1", "step_summary_1"):
            (self.file_commands / name).write_text("")  # the runner creates them, empty
        script = shutil.which("shipsign", path=str(Path(sys.executable).parent))
        assert script is not None, "the shipsign console script is not installed"
        # The variables travel in a file, not through the shell: sh drops names with hyphens
        # (INPUT_GITHUB-TOKEN), which docker passes on. A one-line launcher execs the script
        # with exactly these variables, in the workspace.
        (self._launch / "env.json").write_text(json.dumps(dict(env)))
        launcher = (
            "import json,os;e=json.load(open('/run/box/env.json'));"
            f"os.chdir('/github/workspace');os.execve({script!r},[{script!r},'action'],e)"
        )
        root = shlex.quote(str(self._root))
        binds = [f"mkdir -p {root}/{d} && mount --rbind -o ro /{d} {root}/{d}" for d in _HOST_DIRS]
        links = [
            f"ln -s usr/{d} {root}/{d}"
            for d in ("bin", "sbin", "lib", "lib64")
            if Path(f"/{d}").is_symlink()
        ]
        # The interpreter the virtualenv was made from, when it is not under /usr (pyenv).
        extra = [Path(sys.base_prefix).resolve()]
        binds += [
            f"mkdir -p {root}{d} && mount --bind -o ro {shlex.quote(str(d))} {root}{d}"
            for d in extra
            if not d.is_relative_to("/usr")
        ]
        setup = " && ".join(
            [
                "set -e",
                f"mount -t tmpfs -o mode=0755 tmpfs {root}",
                *binds,
                *links,
                f"mkdir -p {root}{REPO} {root}/github/workspace {root}/github/file_commands",
                f"mkdir -p {root}/github/home {root}/tmp {root}/run/box",
                f"mount --bind -o ro {shlex.quote(str(self._launch))} {root}/run/box",
                f"mount --bind -o ro {shlex.quote(str(REPO))} {root}{REPO}",
                f"mount --bind {shlex.quote(str(self.workspace))} {root}/github/workspace",
                f"mount --bind {shlex.quote(str(self.file_commands))} {root}/github/file_commands",
                f"mount -o remount,ro,bind {root}",  # the root is read-only from here on
                f"cd / && exec chroot {root} {shlex.quote(sys.executable)} -c"
                f" {shlex.quote(launcher)}",
            ]
        )
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup],
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Run(
            code=done.returncode,
            stdout=done.stdout,
            stderr=done.stderr,
            outputs=parse_output_file((self.file_commands / "set_output_1").read_text()),
            summary=(self.file_commands / "step_summary_1").read_text(),
            workspace=self.workspace,
        )
