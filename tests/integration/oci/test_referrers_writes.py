"""How few requests a referrer write takes, without losing a concurrent writer's entry: blobs known
to be new go up without a HEAD, a listing just read is the base of the merge, a stale one is read
again, and the write is confirmed by one read after the settle time. Requests are counted by the
fault proxy in front of the registry."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from integration.manual_clock import ManualClock
from integration.oci.images import BUNDLE, EMPTY, ClientFactory, push_subject
from integration.referrer_writes import add_referrer
from shipsign.errors import RegistryError
from shipsign.oci import (
    Descriptor,
    Manifest,
    ReferrersSource,
    RegistryClient,
    Repository,
    build_index,
    build_manifest,
    fetch_referrers,
    referrer_descriptor,
)
from shipsign.oci.referrers import PendingReferrer, confirm_referrers, write_referrer
from shipsign.oci.shared_tag import FRESH_READ
from stack.fault_proxy import FaultProxy
from stack.raw_registry import RawClient
from stack.registry import Registry


def _referrer(client: RegistryClient, repo: Repository, subject: Manifest, n: int) -> Descriptor:
    data = f"bundle {n} {time.monotonic_ns()}".encode()
    layer = client.push_blob(repo, data)
    manifest = build_manifest(
        config=EMPTY,
        layers=[Descriptor(media_type=BUNDLE, digest=layer, size=len(data))],
        subject=subject.descriptor,
        artifact_type=BUNDLE,
    )
    client.push_manifest(repo, manifest)
    return referrer_descriptor(manifest)


def _calls(proxy: FaultProxy, method: str, fragment: str) -> int:
    return sum(1 for r in proxy.requests if r.method == method and fragment in r.path)


def test_a_blob_known_to_be_new_is_uploaded_without_a_head(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    data = f"fresh signature {time.monotonic_ns()}".encode()
    fault_proxy.reset_log()
    digest = client.push_blob(repository, data, check_first=False)
    assert [(r.method, "/uploads/" in r.path) for r in fault_proxy.requests] == [
        ("POST", True),
        ("PUT", True),
    ]
    # Uploading it again (it was not new after all) stores the same bytes: harmless.
    assert client.push_blob(repository, data, check_first=False) == digest
    assert RawClient(fault_proxy.registry, repo).call("GET", f"blobs/{digest}").content == data
    fault_proxy.reset_log()
    client.push_blob(repository, data)  # the default checks first; this client pushed it
    assert fault_proxy.requests == []
    # another client has not seen it: one HEAD, nothing else
    make_client(fault_proxy.registry).push_blob(repository, data)
    assert [r.method for r in fault_proxy.requests] == ["HEAD"]


def test_add_referrer_reads_the_index_once_and_confirms_once(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    entry = _referrer(client, repository, subject, 1)
    fault_proxy.reset_log()
    assert add_referrer(client, repository, subject.digest, entry) is ReferrersSource.FALLBACK_TAG
    tag = f"/manifests/{subject.digest.tag_form}"
    assert _calls(fault_proxy, "GET", tag) == 2  # the read to merge into, the confirming read
    assert _calls(fault_proxy, "PUT", tag) == 1
    assert [d.digest for d in fetch_referrers(client, repository, subject.digest).descriptors] == [
        entry.digest
    ]


def test_a_listing_just_read_is_the_base_of_the_write(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    entry = _referrer(client, repository, subject, 1)
    clock = ManualClock()  # stands still: the listing stays fresh however slow the machine
    listed = fetch_referrers(client, repository, subject.digest, clock=clock.now)
    fault_proxy.reset_log()
    written = write_referrer(
        client, repository, subject.digest, entry, listed=listed, sleep=clock.sleep, clock=clock.now
    )
    assert isinstance(written, PendingReferrer)
    tag = f"/manifests/{subject.digest.tag_form}"
    assert _calls(fault_proxy, "PUT", tag) == 1
    assert _calls(fault_proxy, "GET", tag) == 0  # merged into the caller's listing
    with ThreadPoolExecutor(max_workers=2) as workers:
        [outcome] = confirm_referrers(
            [written], workers=workers, sleep=clock.sleep, clock=clock.now
        )
    assert outcome is ReferrersSource.FALLBACK_TAG
    assert _calls(fault_proxy, "GET", tag) == 1  # the confirming read, after the settle time
    assert sum(clock.slept) >= written.ready_at - listed.read_at > 0


def test_a_listing_past_its_freshness_is_read_again_before_the_write(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    entry = _referrer(client, repository, subject, 1)
    clock = ManualClock()
    listed = fetch_referrers(client, repository, subject.digest, clock=clock.now)
    clock.advance(FRESH_READ + 0.01)
    fault_proxy.reset_log()
    written = write_referrer(
        client, repository, subject.digest, entry, listed=listed, sleep=clock.sleep, clock=clock.now
    )
    assert isinstance(written, PendingReferrer)
    tag = f"/manifests/{subject.digest.tag_form}"
    assert (_calls(fault_proxy, "GET", tag), _calls(fault_proxy, "PUT", tag)) == (1, 1)


def test_a_stale_listing_is_read_again_so_a_concurrent_entry_survives(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    ours, theirs = make_client(fault_proxy.registry), make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(ours, repository)
    clock = ManualClock()
    # empty, and about to be stale
    listed = fetch_referrers(ours, repository, subject.digest, clock=clock.now)
    other = _referrer(theirs, repository, subject, 2)
    assert add_referrer(theirs, repository, subject.digest, other) is ReferrersSource.FALLBACK_TAG
    clock.advance(FRESH_READ + 0.05)
    mine = _referrer(ours, repository, subject, 1)
    assert add_referrer(
        ours, repository, subject.digest, mine, listed=listed, sleep=clock.sleep, clock=clock.now
    ) is (ReferrersSource.FALLBACK_TAG)
    found = {d.digest for d in fetch_referrers(ours, repository, subject.digest).descriptors}
    assert found == {mine.digest, other.digest}  # merging into the stale listing would lose theirs


def test_a_listing_from_the_referrers_api_needs_nothing_more(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    fault_proxy.serve_referrers = True
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    listed = fetch_referrers(client, repository, subject.digest)
    assert listed.source is ReferrersSource.API
    entry = _referrer(client, repository, subject, 3)
    fault_proxy.reset_log()
    written = write_referrer(client, repository, subject.digest, entry, listed=listed)
    assert written is ReferrersSource.API
    assert fault_proxy.requests == []


def test_a_single_attempt_put_leaves_the_retry_to_the_caller(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    index = build_index([])
    fault_proxy.add_fault(method="PUT", path_regex="/manifests/", headers={"Retry-After": "3"})
    fault_proxy.reset_log()
    with pytest.raises(RegistryError) as caught:
        client.push_manifest(repository, index, tag=subject.digest.tag_form, once=True)
    assert [(r.method, r.status) for r in fault_proxy.requests] == [("PUT", 503)]
    assert (caught.value.status, caught.value.retry_after) == (503, "3")
    wait = client.write_again_in(caught.value, 2, 0.0)
    assert wait is not None
    assert wait >= 3.0  # the registry's Retry-After
    assert client.write_again_in(caught.value, 2, 9.0) is None  # past FAST_RETRY's deadline
    refused = RegistryError("refused", status=400)
    assert client.write_again_in(refused, 2, 0.0) is None  # a 4xx is not transient


def test_a_writer_whose_index_put_is_answered_503_keeps_an_entry_confirmed_meanwhile(
    fault_proxy: FaultProxy, registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    slow, direct = make_client(fault_proxy.registry), make_client(registry)
    via_proxy, straight = Repository(fault_proxy.host, repo), Repository(registry.host, repo)
    subject = push_subject(direct, straight)
    mine, theirs = _referrer(direct, straight, subject, 1), _referrer(direct, straight, subject, 2)
    tag = subject.digest.tag_form
    fault_proxy.add_fault(
        method="PUT", path_regex=f"/manifests/{tag}$", headers={"Retry-After": "3"}
    )
    with ThreadPoolExecutor(max_workers=1) as runner:
        ours = runner.submit(add_referrer, slow, via_proxy, subject.digest, mine)
        deadline = time.monotonic() + 30
        while not any(r.method == "PUT" and r.status == 503 for r in fault_proxy.requests):
            assert time.monotonic() < deadline, "the fault was never served"
            time.sleep(0.02)
        # The other writer lists its entry and confirms it while ours waits out Retry-After.
        assert add_referrer(direct, straight, subject.digest, theirs) is (
            ReferrersSource.FALLBACK_TAG
        )
        assert not ours.done()
        assert ours.result(timeout=60) is ReferrersSource.FALLBACK_TAG
    found = {d.digest for d in fetch_referrers(direct, straight, subject.digest).descriptors}
    assert found == {mine.digest, theirs.digest}  # a PUT sent again on its old base drops theirs
    puts = [r.status for r in fault_proxy.requests if r.method == "PUT" and tag in r.path]
    assert puts == [503, 201]
