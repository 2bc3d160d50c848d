"""Start a server process, wait until it listens, stop it by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Server", "free_port", "start_server", "wait_for_port"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    port: int, *, proc: subprocess.Popen[bytes] | None, timeout: float, log: Path | None
) -> None:
    """Block until something accepts connections on 127.0.0.1:port, or raise with the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            text = log.read_text(errors="replace") if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before listening:\n{text}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    text = log.read_text(errors="replace") if log and log.exists() else ""
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout}s:\n{text}")


@dataclass
class Server:
    """A started server process and where it listens."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """Stop the process (and its group) by PID: TERM, then KILL after 5 s."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def start_server(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    workdir: Path,
    env: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> Server:
    """Start `argv` in its own process group, log to workdir/<name>.log, wait for `port`."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}.log"
    fh = log.open("wb")
    proc = subprocess.Popen(
        list(argv),
        stdout=fh,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=workdir,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    fh.close()
    server = Server(name=name, port=port, proc=proc, log=log)
    try:
        wait_for_port(port, proc=proc, timeout=timeout, log=log)
    except BaseException:
        server.stop()
        raise
    return server
