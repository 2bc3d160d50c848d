"""How many registry requests a signature costs, and that the savings lose nothing: the read
that looked for an existing signature is the base of the write while it is fresh, a stale one
is read again (a concurrent layer survives), new blobs go up without a HEAD, and a Fulcio
refusal stops the run after one request. Requests are counted by the fault proxy in front of
the registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from integration.manual_clock import ManualClock
from integration.sign.helpers import Signatures, bundle_referrers, push_image, sig_layers
from shipsign.errors import ShipsignError
from shipsign.keyless.trust import TrustOptions
from shipsign.legacy_signature import LegacySignature
from shipsign.oci import Digest, Registries, RegistryClient, Repository, StaticKeychain
from shipsign.oci.shared_tag import FRESH_READ
from shipsign.secret import Secret
from shipsign.sign import SignFormat, SignRequest, sign_images
from shipsign.sign.existing import SigRead, fetch_sig
from shipsign.sign.legacy import append_signature, confirm_signatures
from stack.fault_proxy import FaultProxy
from stack.sigstore_stack import GitHubOidc, SigstoreStack

SIGNATURE = "dev.cosignproject.cosign/signature"


@pytest.fixture
def client(fault_proxy: FaultProxy) -> Iterator[RegistryClient]:
    with Registries(keychain=StaticKeychain({}), insecure=[fault_proxy.host], env={}) as pool:
        yield pool.client(fault_proxy.host)


def kinds(proxy: FaultProxy) -> Counter[str]:
    """Requests by method and kind of path, as bench/sign.py counts them."""
    out: Counter[str] = Counter()
    for r in proxy.requests:
        path = r.path.split("?")[0]
        if path.endswith(".sig"):
            kind = ".sig"
        elif "/blobs/uploads/" in path:
            kind = "upload"
        elif "/blobs/" in path:
            kind = "blob"
        elif "/manifests/sha256-" in path:
            kind = "referrers tag"
        elif "/referrers/" in path:
            kind = "referrers API"
        else:
            kind = "manifest"
        out[f"{r.method} {kind}"] += 1
    return out


def test_a_fresh_read_is_the_base_of_the_write(
    fault_proxy: FaultProxy,
    client: RegistryClient,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    digest = Digest.parse(push_image([fault_proxy.registry], repo))
    repository = Repository(fault_proxy.host, repo)
    signature = Signatures(stack, github_oidc).make(repository, digest)
    clock = ManualClock()  # stands still: the read stays fresh however slow the machine
    read = fetch_sig(client, repository, digest, clock=clock.now)
    fault_proxy.reset_log()
    pending = append_signature(
        client, repository, digest, signature, read=read, sleep=clock.sleep, clock=clock.now
    )
    seen = kinds(fault_proxy)
    assert seen["HEAD blob"] == 0  # the payload and the config are new: no HEAD first
    assert (seen["POST upload"], seen["PUT upload"], seen["PUT .sig"]) == (2, 2, 1)
    assert seen["GET .sig"] == 0  # merged into the read
    with ThreadPoolExecutor(max_workers=2) as workers:
        [written] = confirm_signatures(
            [pending], workers=workers, sleep=clock.sleep, clock=clock.now
        )
    assert not isinstance(written, ShipsignError)
    assert kinds(fault_proxy)["GET .sig"] == 1  # one confirming read
    assert sum(clock.slept) >= pending.ready_at - read.read_at > 0  # after the settle time
    assert [
        layer["annotations"][SIGNATURE]
        for layer in sig_layers(fault_proxy.registry, repo, str(digest))
    ] == [signature.signature]


def test_a_stale_read_is_read_again_so_a_concurrent_layer_survives(
    fault_proxy: FaultProxy,
    client: RegistryClient,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    digest = Digest.parse(push_image([fault_proxy.registry], repo))
    repository = Repository(fault_proxy.host, repo)
    signatures = Signatures(stack, github_oidc)
    mine, theirs = signatures.make(repository, digest), signatures.make(repository, digest)
    clock = ManualClock()
    read = fetch_sig(client, repository, digest, clock=clock.now)  # no .sig yet; soon stale

    def write(signature: LegacySignature, read: SigRead | None = None) -> None:
        pending = append_signature(
            client, repository, digest, signature, read=read, sleep=clock.sleep, clock=clock.now
        )
        with ThreadPoolExecutor(max_workers=2) as workers:
            [held] = confirm_signatures(
                [pending], workers=workers, sleep=clock.sleep, clock=clock.now
            )
        assert not isinstance(held, ShipsignError)

    write(theirs)
    clock.advance(FRESH_READ + 0.05)
    write(mine, read)
    layers = sig_layers(fault_proxy.registry, repo, str(digest))
    # Writing on top of the stale read would have replaced their layer with ours.
    assert {layer["annotations"][SIGNATURE] for layer in layers} == {
        mine.signature,
        theirs.signature,
    }


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        # resolve; read .sig; payload and config POST+PUT; PUT .sig; confirm
        (SignFormat.LEGACY, {"HEAD manifest": 1, "POST upload": 2, "PUT upload": 2, "PUT .sig": 1}),
        # resolve; probe the referrers API; read index; bundle POST+PUT; the empty config
        # (HEAD first: usually there already, but not in a new repository); PUT manifest, index
        (
            SignFormat.BUNDLE,
            {
                "HEAD manifest": 1,
                "GET referrers API": 1,
                "HEAD blob": 1,
                "POST upload": 2,
                "PUT upload": 2,
                "PUT manifest": 1,
                "PUT referrers tag": 1,
            },
        ),
    ],
)
def test_requests_for_one_signature(
    fault_proxy: FaultProxy,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    fmt: SignFormat,
    expected: dict[str, int],
) -> None:
    digest = push_image([fault_proxy.registry], repo)
    request = SignRequest(
        images=(f"{fault_proxy.host}/{repo}@{digest}",),
        format=fmt,
        identity_token=Secret(github_oidc.mint()),
        trust=TrustOptions(trust_config=stack.trust_config),
        insecure_registries=(fault_proxy.host,),
        keychain=StaticKeychain({}),
        verify_after=False,
    )
    fault_proxy.reset_log()
    report = sign_images(request)
    assert report.ok, report.failures()
    seen = kinds(fault_proxy)
    shared = ".sig" if fmt is SignFormat.LEGACY else "referrers tag"
    reads = seen.pop(f"GET {shared}")
    assert reads in (2, 3)  # the read, the confirming read, and another read if it went stale
    assert seen == expected


def test_a_fulcio_refusal_stops_the_run_after_one_request(
    fault_proxy: FaultProxy, repo: str, stack: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    digests = [push_image([fault_proxy.registry], f"{repo}/{n}") for n in range(3)]
    request = SignRequest(
        images=tuple(f"{fault_proxy.host}/{repo}/{n}@{d}" for n, d in enumerate(digests)),
        identity_token=Secret(github_oidc.mint()),
        trust=TrustOptions(trust_config=stack.trust_config),
        insecure_registries=(fault_proxy.host,),
        keychain=StaticKeychain({}),
    )
    stack.fault("/api/v2/signingCert", status=403, count=100)
    with pytest.raises(ShipsignError):
        sign_images(request)
    assert stack.requests("POST /api/v2/signingCert") == 1  # not once per signature
    assert stack.requests("POST /api/v1/log/entries") == 0
    for n, digest in enumerate(digests):
        assert sig_layers(fault_proxy.registry, f"{repo}/{n}", digest) == []
        assert bundle_referrers(fault_proxy.registry, f"{repo}/{n}", digest) == []
