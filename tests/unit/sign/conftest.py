"""Fixtures for the signing-session tests: the session's Sigstore stack with its counts reset
and no faults queued, and a `Kit` on the anonymous registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipsign.oci import Registries, StaticKeychain
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack
from unit.sign.session_kit import Kit


@pytest.fixture
def stack(sigstore_stack: SigstoreStack) -> Iterator[SigstoreStack]:
    sigstore_stack.clear_faults()
    sigstore_stack.reset_stats()
    yield sigstore_stack
    sigstore_stack.clear_faults()


@pytest.fixture
def kit(stack: SigstoreStack, github_oidc: GitHubOidc, registry: Registry) -> Iterator[Kit]:
    with Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={}) as pool:
        yield Kit(stack=stack, oidc=github_oidc, registry=registry, pool=pool)
