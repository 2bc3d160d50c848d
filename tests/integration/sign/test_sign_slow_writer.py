"""A writer slowed down between its read of the `.sig` tag and its PUT (a 503 with Retry-After
on the way) must not drop a layer another writer added and confirmed meanwhile.

Writer A goes through the fault proxy, which answers one of its requests 503 + `Retry-After: 3`;
writer B talks to the registry directly and appends and confirms its layer while A waits. Both
layers (and the one that was there before) must be in the `.sig` manifest at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from integration.sign.helpers import Signatures, get_manifest, push_image, sig_layers
from shipsign.errors import ShipsignError
from shipsign.legacy_signature import LegacySignature
from shipsign.oci import Digest, Registries, RegistryClient, Repository, StaticKeychain
from shipsign.sign.legacy import SigWritten, append_signature, confirm_signatures
from stack.fault_proxy import FaultProxy
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

SIGNATURE = "dev.cosignproject.cosign/signature"


@pytest.fixture
def pool(fault_proxy: FaultProxy, registry: Registry) -> Iterator[Registries]:
    hosts = [fault_proxy.host, registry.host]
    with Registries(keychain=StaticKeychain({}), insecure=hosts, env={}) as registries:
        yield registries


def _write(
    client: RegistryClient, repo: Repository, digest: Digest, signature: LegacySignature
) -> SigWritten | ShipsignError:
    """Append and confirm one layer, as a signing run does."""
    pending = append_signature(client, repo, digest, signature)
    with ThreadPoolExecutor(max_workers=1) as workers:
        [outcome] = confirm_signatures([pending], workers=workers)
    return outcome


def _wait_for_fault(proxy: FaultProxy, method: str, fragment: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(
            r.method == method and fragment in r.path and r.status == 503 for r in proxy.requests
        ):
            return
        time.sleep(0.02)
    raise AssertionError(f"the fault on {method} {fragment} was never served")


def _race(
    fault_proxy: FaultProxy,
    pool: Registries,
    registry: Registry,
    repo: str,
    digest: Digest,
    signatures: tuple[LegacySignature, LegacySignature],
    fault: tuple[str, str],
) -> set[str]:
    """A writes `signatures[0]` through the proxy and is slowed at `fault`; B writes
    `signatures[1]` directly meanwhile. Returns the signatures in the `.sig` manifest."""
    mine, theirs = signatures
    slow = Repository(fault_proxy.host, repo)
    direct = Repository(registry.host, repo)
    with ThreadPoolExecutor(max_workers=1) as runner:
        a: Future[SigWritten | ShipsignError] = runner.submit(
            _write, pool.client(fault_proxy.host), slow, digest, mine
        )
        _wait_for_fault(fault_proxy, *fault)
        b = _write(pool.client(registry.host), direct, digest, theirs)
        assert isinstance(b, SigWritten), b  # B's layer was confirmed ...
        assert not a.done()  # ... while A was still waiting out the Retry-After
        assert isinstance(a.result(timeout=60), SigWritten)
    return {layer["annotations"][SIGNATURE] for layer in sig_layers(registry, repo, str(digest))}


def test_a_writer_slowed_before_its_put_reads_the_tag_again(
    fault_proxy: FaultProxy,
    pool: Registries,
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    digest = Digest.parse(push_image([registry], repo))
    direct = Repository(registry.host, repo)
    made = Signatures(stack, github_oidc)
    first, mine, theirs = (made.make(direct, digest) for _ in range(3))
    assert isinstance(_write(pool.client(registry.host), direct, digest, first), SigWritten)
    found = get_manifest(registry, repo, f"{digest.tag_form}.sig")
    assert found is not None
    config_blob = found[1]["config"]["digest"]
    # A's read of the .sig tag comes before the config GET; that GET is slowed by 3 s.
    fault_proxy.add_fault(
        method="GET",
        path_regex=f"/blobs/{config_blob}",
        status=503,
        headers={"Retry-After": "3"},
        times=1,
    )
    layers = _race(fault_proxy, pool, registry, repo, digest, (mine, theirs), ("GET", config_blob))
    assert layers == {first.signature, mine.signature, theirs.signature}


def test_a_put_answered_503_is_not_sent_again_on_its_stale_base(
    fault_proxy: FaultProxy,
    pool: Registries,
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    digest = Digest.parse(push_image([registry], repo))
    made = Signatures(stack, github_oidc)
    mine, theirs = (made.make(Repository(registry.host, repo), digest) for _ in range(2))
    fault_proxy.add_fault(
        method="PUT", path_regex=r"\.sig$", status=503, headers={"Retry-After": "3"}, times=1
    )
    layers = _race(fault_proxy, pool, registry, repo, digest, (mine, theirs), ("PUT", ".sig"))
    assert layers == {mine.signature, theirs.signature}
    puts = [r.status for r in fault_proxy.requests if r.method == "PUT" and ".sig" in r.path]
    assert puts == [503, 201]  # the second PUT came from a new read, after the Retry-After
