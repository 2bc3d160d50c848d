"""GitHub Actions workflow commands and files: masks, annotations, outputs, step summary.

The runner reads commands from stdout (`::add-mask::`, `::error title=…::`) and key/value
outputs from the file named by `$GITHUB_OUTPUT`. Paths always come from the environment.
Everything but a mask passes through `redact` (shipsign.secret) on its way out.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import TextIO

from shipsign.errors import InputError
from shipsign.secret import redact

_log = logging.getLogger(__name__)

__all__ = [
    "add_mask",
    "annotate",
    "append_step_summary",
    "commands",
    "echo",
    "echo_untrusted",
    "escape_data",
    "escape_property",
    "give_to_workspace_owner",
    "let_git_read_the_workspace",
    "write_outputs",
    "write_workspace_file",
]


def escape_data(value: str) -> str:
    """Escape a command's message the way the runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a command property (e.g. `title=`): data escapes plus `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def add_mask(value: str, *, stream: TextIO | None = None) -> None:
    """Ask the runner to mask `value` (and each of its lines) in every later log line."""
    out = stream or sys.stdout
    for line in {value, *value.splitlines()}:
        if line.strip():
            out.write(f"::add-mask::{escape_data(line)}\n")
    out.flush()


def echo(text: str, *, stream: TextIO | None = None) -> None:
    """Write log lines for the job's log (the runner applies the masks)."""
    out = stream or sys.stdout
    text = redact(text)
    out.write(text if text.endswith("\n") else text + "\n")
    out.flush()


def echo_untrusted(text: str, *, stream: TextIO | None = None) -> None:
    """Write lines that may quote registries or certificates, with workflow commands paused.

    A line of such text starting with `::` would otherwise be run as a command by the runner;
    `::stop-commands::TOKEN` pauses command processing until `::TOKEN::` (masks stay on).
    """
    token = secrets.token_hex(16)
    out = stream or sys.stdout
    out.write(f"::stop-commands::{token}\n")
    echo(text, stream=out)
    out.write(f"::{token}::\n")
    out.flush()


def annotate(level: str, message: str, *, title: str = "", stream: TextIO | None = None) -> None:
    """Emit an `::error::`, `::warning::` or `::notice::` annotation."""
    if level not in {"error", "warning", "notice"}:
        raise ValueError(f"unknown annotation level {level!r}")
    props = f" title={escape_property(redact(title))}" if title else ""
    out = stream or sys.stdout
    out.write(f"::{level}{props}::{escape_data(redact(message))}\n")
    out.flush()


def commands(lines: Iterable[str], *, stream: TextIO | None = None) -> None:
    """Write workflow command lines built elsewhere (e.g. `::error file=F,line=L::...`), one
    per line. Each must be escaped already: a line break inside one would end it early."""
    out = stream or sys.stdout
    for line in lines:
        if "\n" in line or "\r" in line or not line.startswith("::"):
            raise ValueError("not one escaped workflow command line")
        out.write(redact(line) + "\n")
    out.flush()


def write_outputs(values: Mapping[str, str], *, env: Mapping[str, str] | None = None) -> None:
    """Append `name<<DELIM` blocks to `$GITHUB_OUTPUT`, with a fresh random DELIM per value."""
    path = (env if env is not None else os.environ).get("GITHUB_OUTPUT")
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as fh:
        for name, raw in values.items():
            value = redact(raw)
            delim = f"ghadelimiter_{secrets.token_hex(16)}"
            while delim in value:  # practically never; a value must not end the block early
                delim = f"ghadelimiter_{secrets.token_hex(16)}"
            fh.write(f"{name}<<{delim}\n{value}\n{delim}\n")


def append_step_summary(markdown: str, *, env: Mapping[str, str] | None = None) -> bool:
    """Append Markdown to `$GITHUB_STEP_SUMMARY` when it is set; return whether it was."""
    path = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with Path(path).open("a", encoding="utf-8") as fh:
        markdown = redact(markdown)
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return True


def write_workspace_file(name: str, text: str, *, env: Mapping[str, str] | None = None) -> str:
    """Write `text` (redacted) to `name` in the workspace; return its workspace-relative path.

    The container runs as root while the workspace belongs to the runner's user: the file, and
    any folder made for it, are given the workspace's owner so that later steps can rewrite
    them. `InputError` for a path outside the workspace or one that cannot be written.
    """
    source = env if env is not None else os.environ
    workspace = Path(source.get("GITHUB_WORKSPACE") or Path.cwd())
    target = Path(os.path.normpath(workspace / name))
    try:
        relative = target.relative_to(workspace)
    except ValueError:
        relative = None
    if relative is None or relative == Path():
        raise InputError(
            "the result file must be inside the workspace",
            expected=f"a path relative to the workspace ({workspace})",
            found=name,
        )
    owner = workspace.stat()
    made = [d for d in reversed(target.parents) if d.is_relative_to(workspace) and not d.exists()]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(redact(text), encoding="utf-8")
        if os.geteuid() == 0 and (owner.st_uid, owner.st_gid) != (0, 0):
            for path in [*made, target]:
                os.chown(path, owner.st_uid, owner.st_gid)
    except OSError as exc:
        raise InputError(
            "cannot write the result file", where=str(relative), found=str(exc)
        ) from exc
    return relative.as_posix()


def give_to_workspace_owner(paths: Iterable[Path], *, env: Mapping[str, str] | None = None) -> None:
    """Give files this run wrote in the workspace to the workspace's owner.

    The container runs as root; a bundle left root's could not be replaced by a later step
    or a rerun on a self-hosted runner. Files outside the workspace, and files that are gone,
    are left alone; a failed `chown` is logged, not raised (the signatures are written).
    """
    source = env if env is not None else os.environ
    workspace = Path(source.get("GITHUB_WORKSPACE") or Path.cwd()).absolute()
    if os.geteuid() != 0:
        return
    try:
        owner = workspace.stat()
    except OSError:
        return
    if (owner.st_uid, owner.st_gid) == (0, 0):
        return
    for path in dict.fromkeys(Path(os.path.abspath(p)) for p in paths):
        if not path.is_relative_to(workspace):
            continue
        try:
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)
        except OSError as exc:
            _log.debug("cannot give %s to the workspace owner: %s", path, exc)


def let_git_read_the_workspace(
    env: Mapping[str, str], *, environ: MutableMapping[str, str] | None = None
) -> bool:
    """Have git, run by this process, accept the workspace although root does not own it.

    The container runs as root while the checkout belongs to the runner's user, and git then
    refuses the repository ("dubious ownership", which `git diff` reports as "Not a git
    repository"). The workspace is marked `safe.directory` for this process's children
    through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` (the command-line
    scope, which git honours for that setting), after any the runner passed. Nothing is
    changed when the workspace is root's or this process is not root. Returns whether it was.
    """
    target = environ if environ is not None else os.environ
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd()).absolute()
    try:
        owner = workspace.stat().st_uid
    except OSError:
        return False
    if os.geteuid() != 0 or owner == 0:
        return False
    count = target.get("GIT_CONFIG_COUNT", "")
    n = int(count) if count.isdigit() else 0
    target[f"GIT_CONFIG_KEY_{n}"] = "safe.directory"
    target[f"GIT_CONFIG_VALUE_{n}"] = str(workspace)
    target["GIT_CONFIG_COUNT"] = str(n + 1)
    return True
