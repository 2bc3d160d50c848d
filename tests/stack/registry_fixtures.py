"""pytest fixtures for the registry stack: session-scoped registries, a fresh repository name per
test, and a function-scoped fault proxy in front of the anonymous registry.

Each registry starts on first use and is stopped by PID at session end; teardown then checks that
no process of its process group is left (a leaked docker-registry fails the session).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.fault_proxy import FaultProxy
from stack.process import Server
from stack.registry import Registry, RunningRegistry, start_registry

__all__ = [
    "basic_registry",
    "fault_proxy",
    "referrers_registry",
    "registry",
    "registry_b",
    "registry_workdir",
    "repo",
    "tls_registry",
    "token_registry",
]

_repo_counter = itertools.count(1)


def _assert_gone(servers: list[Server]) -> None:
    left = []
    for server in servers:
        try:
            os.killpg(server.pid, 0)  # signal 0: only asks whether the group still has members
        except ProcessLookupError:
            continue
        left.append(f"{server.name} (pid {server.pid})")
    if left:
        raise RuntimeError(f"processes left running after stop: {', '.join(left)}")


def _serve(kind: str, workdir: Path) -> Iterator[Registry]:
    running: RunningRegistry = start_registry(kind, workdir)
    try:
        yield running.registry
    finally:
        running.stop()
        _assert_gone(running.servers)


@pytest.fixture(scope="session")
def registry_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where registry configs, keys, certificates and logs of this session live."""
    return tmp_path_factory.mktemp("registry-stack")


@pytest.fixture(scope="session")
def registry(registry_workdir: Path) -> Iterator[Registry]:
    """Anonymous plain-HTTP registry (the "GHCR" stand-in)."""
    yield from _serve("anonymous", registry_workdir)


@pytest.fixture(scope="session")
def registry_b(registry_workdir: Path) -> Iterator[Registry]:
    """A second, independent anonymous registry (the "Docker Hub" stand-in)."""
    yield from _serve("anonymous-b", registry_workdir)


@pytest.fixture(scope="session")
def basic_registry(registry_workdir: Path) -> Iterator[Registry]:
    """Plain-HTTP registry with htpasswd (bcrypt) basic auth; `username`/`password` are valid."""
    yield from _serve("basic", registry_workdir)


@pytest.fixture(scope="session")
def token_registry(registry_workdir: Path) -> Iterator[Registry]:
    """Plain-HTTP registry with bearer token auth; `username`/`password` are valid at `realm`.

    Anonymous callers get pull on `public/...` repositories only. `token_requests()` counts tokens.
    """
    yield from _serve("token", registry_workdir)


@pytest.fixture(scope="session")
def tls_registry(registry_workdir: Path) -> Iterator[Registry]:
    """Anonymous HTTPS registry; trust it through `ca_bundle` (or skopeo's `cert_dir`)."""
    yield from _serve("tls", registry_workdir)


@pytest.fixture(scope="session")
def referrers_registry(registry_workdir: Path) -> Iterator[Registry]:
    """Anonymous plain-HTTP registry that serves the OCI 1.1 referrers API (go-containerregistry's
    pkg/registry, tests/stack/refregistry); `requests()` lists what it answered. Not built by
    install.sh: the test fails (never skips)."""
    yield from _serve("referrers-api", registry_workdir)


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses: `test/<test name>-<n>`."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60].strip("-")
    return f"test/{slug or 'repo'}-{next(_repo_counter)}"


@pytest.fixture
def fault_proxy(registry: Registry) -> Iterator[FaultProxy]:
    """A fresh fault proxy in front of `registry`; `fault_proxy.registry` addresses it."""
    with FaultProxy(registry.url) as proxy:
        yield proxy
