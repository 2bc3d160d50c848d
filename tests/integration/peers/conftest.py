"""Fixtures for the peer tests: real cosign binaries pointed at the local stack.

Registries come in two kinds: Debian's docker-registry (distribution 2.8, no referrers API: a
bundle referrer lives under the fallback tag) and a registry that serves the OCI 1.1 referrers
API (go-containerregistry's pkg/registry, built from tests/stack/refregistry).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stack.cosign import Cosign, TrustFiles
from stack.peers import COSIGN_V2, COSIGN_V2_SIG_ONLY, COSIGN_V3
from stack.registry import Registry
from stack.sigstore_stack import SigstoreStack

REGISTRY_KINDS = ("registry", "referrers_registry")


@pytest.fixture(scope="session")
def cosign_trust(
    sigstore_stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory
) -> TrustFiles:
    return TrustFiles.write(
        sigstore_stack.trusted_root,
        sigstore_stack.signing_config,
        tmp_path_factory.mktemp("cosign-trust"),
    )


@pytest.fixture(scope="session")
def cosign_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cosign-home")


@pytest.fixture(scope="session")
def make_cosign(cosign_trust: TrustFiles, cosign_home: Path) -> Callable[[str], Cosign]:
    def make(version: str) -> Cosign:
        return Cosign(version, cosign_trust, cosign_home / version)

    return make


@pytest.fixture(scope="session")
def cosign_v3(make_cosign: Callable[[str], Cosign]) -> Cosign:
    return make_cosign(COSIGN_V3)


@pytest.fixture(scope="session")
def cosign_v2(make_cosign: Callable[[str], Cosign]) -> Cosign:
    return make_cosign(COSIGN_V2)


@pytest.fixture(scope="session")
def cosign_v2_sig_only(make_cosign: Callable[[str], Cosign]) -> Cosign:
    return make_cosign(COSIGN_V2_SIG_ONLY)


@pytest.fixture(params=REGISTRY_KINDS)
def any_registry(request: pytest.FixtureRequest) -> Registry:
    """Each registry kind in turn."""
    registry: Registry = request.getfixturevalue(request.param)
    return registry
