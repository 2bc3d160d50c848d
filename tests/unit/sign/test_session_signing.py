"""The scheduler and the two strategies behind its protocol, on the local Sigstore stack and
registry: what each format signs (byte for byte), in which order (a bundle once per digest,
written to every location; a legacy payload per location), what is skipped (this identity's
signature already there) and what --force signs again; one certificate for it all.

The strategies are the real ones, wrapped to note each call the scheduler makes. Only a bug (an
exception nothing translates) is injected at that boundary: no server can produce one."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import pytest

from shipsign.checks import SignatureFormat
from shipsign.errors import InternalError, ShipsignError
from shipsign.sign.model import SignStatus
from shipsign.sign.strategy import Target
from unit.sign.session_kit import (
    CERT,
    ENTRIES,
    Kit,
    RecordingStrategy,
    payload,
    statement,
)

BUNDLE, LEGACY = SignatureFormat.BUNDLE, SignatureFormat.LEGACY
RELEASE = MappingProxyType({"release": "v1", "by": "ci"})


def test_what_each_format_signs_for_one_digest_in_two_locations(kit: Kit, repo: str) -> None:
    a, b = f"{repo}/a", f"{repo}/b"
    digest = kit.push(a, f"{repo} layer")
    assert kit.push(b, f"{repo} layer") == digest  # the same image, copied
    kit.annotations = RELEASE
    run = kit.sign(kit.image(a, digest), kit.image(b, digest))

    # one statement for the digest (it names no location), one payload per location
    assert run.signer.of_kind("statement") == [statement(digest, RELEASE)]
    assert sorted(run.signer.of_kind("payload")) == sorted(
        payload(kit.location(loc), digest, RELEASE) for loc in (a, b)
    )
    assert kit.stack.requests(CERT) == 1
    assert kit.stack.requests(ENTRIES) == 3
    # results in plan order: location, then format (bundle first)
    assert [(r.repository, r.format, r.status) for r in run.results] == [
        (kit.location(a), BUNDLE, SignStatus.SIGNED),
        (kit.location(a), LEGACY, SignStatus.SIGNED),
        (kit.location(b), BUNDLE, SignStatus.SIGNED),
        (kit.location(b), LEGACY, SignStatus.SIGNED),
    ]
    bundle_a, legacy_a, bundle_b, legacy_b = run.results
    # the very same bundle referrer at both locations; a legacy signature each
    assert bundle_a.signature_manifest == bundle_b.signature_manifest
    assert bundle_a.log_index == bundle_b.log_index
    assert len({bundle_a.log_index, legacy_a.log_index, legacy_b.log_index}) == 3
    # and what the registry holds is what was signed
    for loc in (a, b):
        assert kit.sig_payloads(loc, digest) == [payload(kit.location(loc), digest, RELEASE)]
        assert kit.bundle_statements(loc, digest) == {
            str(bundle_a.signature_manifest): statement(digest, RELEASE)
        }


def test_without_annotations_the_claims_are_cosigns_defaults(kit: Kit, repo: str) -> None:
    digest = kit.push(repo, f"{repo} layer")
    run = kit.sign(kit.image(repo, digest))
    assert run.signer.of_kind("statement") == [statement(digest, {})]  # "annotations":{}
    assert run.signer.of_kind("payload") == [payload(kit.location(repo), digest, {})]  # null


def test_the_order_of_the_calls(kit: Kit, repo: str) -> None:
    a, b = f"{repo}/a", f"{repo}/b"
    digests = []
    for n in range(2):  # two images, each copied to both locations
        digests.append(kit.push(a, f"{repo} layer {n}"))
        kit.push(b, f"{repo} layer {n}")
    run = kit.sign(*(kit.image(loc, d) for d in digests for loc in (a, b)))
    calls = run.calls
    places = {d: tuple(f"{kit.location(loc)}@{d}" for loc in (a, b)) for d in digests}

    # bundles: every location looked at, then one signature for the digest, then one write
    # of it to every location
    for targets in places.values():
        looks = [c for c in calls.of("look", BUNDLE) if c.where[0] in targets]
        assert sorted(c.where[0] for c in looks) == sorted(targets)
        [sign] = [c for c in calls.of("sign", BUNDLE) if set(c.where) & set(targets)]
        [write] = [c for c in calls.of("write", BUNDLE) if set(c.where) & set(targets)]
        assert sign.where == write.where == targets
        assert max(c.seq for c in looks) < sign.seq < write.seq
    # legacy: each location on its own: look, sign, write
    for target in (t for targets in places.values() for t in targets):
        [look, sign, write] = [c for c in calls.all if c.format is LEGACY and c.where == (target,)]
        assert (look.verb, sign.verb, write.verb) == ("look", "sign", "write")
        assert look.seq < sign.seq < write.seq
    # one confirming batch per format, after all of its writes (no referrers API here: every
    # write waits to be confirmed)
    for fmt in (BUNDLE, LEGACY):
        [confirm] = calls.of("confirm", fmt)
        assert confirm.count == 4
        assert all(w.seq < confirm.seq for w in calls.of("write", fmt))
    assert len(calls.of("sign", BUNDLE)) == 2
    assert len(calls.of("sign", LEGACY)) == 4
    # one certificate for the six signatures
    assert kit.stack.requests(CERT) == 1
    assert kit.stack.requests(ENTRIES) == 6
    # results in plan order: digest, location, format
    assert [(str(r.digest), r.repository, r.format) for r in run.results] == [
        (d, kit.location(loc), fmt) for d in digests for loc in (a, b) for fmt in (BUNDLE, LEGACY)
    ]
    assert {r.status for r in run.results} == {SignStatus.SIGNED}


def test_what_is_there_already_is_skipped_and_force_signs_again(kit: Kit, repo: str) -> None:
    a, b = f"{repo}/a", f"{repo}/b"
    digest = kit.push(a, f"{repo} layer")
    kit.push(b, f"{repo} layer")
    first = kit.sign(kit.image(a, digest))
    logged = {r.format: r.log_index for r in first.results}

    # a: both formats there, skipped; b: signed (the bundle too: b has none)
    kit.stack.reset_stats()
    second = kit.sign(kit.image(a, digest), kit.image(b, digest))
    assert [(r.repository, r.format, r.status) for r in second.results] == [
        (kit.location(a), BUNDLE, SignStatus.SKIPPED),
        (kit.location(a), LEGACY, SignStatus.SKIPPED),
        (kit.location(b), BUNDLE, SignStatus.SIGNED),
        (kit.location(b), LEGACY, SignStatus.SIGNED),
    ]
    for skipped in second.results[:2]:
        assert skipped.log_index == logged[skipped.format]  # the signature found is the first
        assert skipped.notes[0].startswith("already signed by this identity")
    only_b = (f"{kit.location(b)}@{digest}",)
    assert [c.where for c in second.calls.all if c.verb in ("sign", "write")] == [only_b] * 4
    assert second.signer.of_kind("statement") == [statement(digest, {})]
    assert second.signer.of_kind("payload") == [payload(kit.location(b), digest, {})]
    assert kit.stack.requests(CERT) == 1

    # everything there: looked at, nothing signed, no certificate
    kit.stack.reset_stats()
    third = kit.sign(kit.image(a, digest), kit.image(b, digest))
    assert {r.status for r in third.results} == {SignStatus.SKIPPED}
    assert third.calls.verbs() == {"look"}
    assert third.signer.signed == []
    assert not third.session.certified
    assert kit.stack.requests(CERT) == 0

    # --force: nothing looked at, everything signed again, once more one certificate
    kit.stack.reset_stats()
    forced = kit.sign(kit.image(a, digest), kit.image(b, digest), force=True)
    assert {r.status for r in forced.results} == {SignStatus.SIGNED}
    assert "look" not in forced.calls.verbs()
    assert len(forced.signer.of_kind("statement")) == 1
    assert len(forced.signer.of_kind("payload")) == 2
    assert kit.stack.requests(CERT) == 1
    assert len(kit.sig_payloads(a, digest)) == 2  # the first layer is kept
    assert len(kit.bundle_statements(a, digest)) == 2


def test_another_identitys_signature_is_not_ours(kit: Kit, repo: str) -> None:
    digest = kit.push(repo, f"{repo} layer")
    other = "acme/app/.github/workflows/other.yml@refs/heads/main"
    theirs = kit.sign(kit.image(repo, digest), claims={"job_workflow_ref": other})
    assert {r.status for r in theirs.results} == {SignStatus.SIGNED}
    ours = kit.sign(kit.image(repo, digest))
    assert {r.status for r in ours.results} == {SignStatus.SIGNED}
    assert len(ours.calls.of("sign", BUNDLE)) == len(ours.calls.of("sign", LEGACY)) == 1


def test_annotations_that_differ_are_not_the_signature_we_would_add(kit: Kit, repo: str) -> None:
    digest = kit.push(repo, f"{repo} layer")
    kit.sign(kit.image(repo, digest))
    kit.annotations = RELEASE
    again = kit.sign(kit.image(repo, digest))
    assert {r.status for r in again.results} == {SignStatus.SIGNED}
    assert again.signer.of_kind("statement") == [statement(digest, RELEASE)]


def test_a_signature_that_fails_fails_every_location_it_was_for(kit: Kit, repo: str) -> None:
    a, b = f"{repo}/a", f"{repo}/b"
    digest = kit.push(a, f"{repo} layer")
    kit.push(b, f"{repo} layer")
    kit.stack.fault("/api/v1/log/entries", status=400, count=100)  # Rekor refuses each entry
    run = kit.sign(kit.image(a, digest), kit.image(b, digest))
    # (a service that fails is "unreachable": the signature may be had on another try)
    assert {(r.status, r.notes) for r in run.results} == {
        (SignStatus.UNREACHABLE, ("signing failed",))
    }
    assert [len(c.where) for c in run.calls.of("sign", BUNDLE)] == [2]  # one bundle, two places
    assert len(run.calls.of("sign", LEGACY)) == 2
    assert not {"write", "confirm"} & run.calls.verbs()
    assert kit.stack.requests(CERT) == 1
    for loc in (a, b):
        assert kit.sig_payloads(loc, digest) == []
        assert kit.bundle_statements(loc, digest) == {}


def test_a_fulcio_refusal_stops_the_run_before_anything_is_signed(kit: Kit, repo: str) -> None:
    digests = [kit.push(f"{repo}/{n}", f"{repo} layer {n}") for n in range(3)]
    kit.stack.fault("/api/v2/signingCert", status=403, count=100)
    with pytest.raises(ShipsignError):
        kit.sign(*(kit.image(f"{repo}/{n}", d) for n, d in enumerate(digests)))
    assert kit.stack.requests(CERT) == 1
    assert kit.stack.requests(ENTRIES) == 0
    for n, digest in enumerate(digests):
        assert kit.sig_payloads(f"{repo}/{n}", digest) == []
        assert kit.bundle_statements(f"{repo}/{n}", digest) == {}


class _BrokenBundleFor(RecordingStrategy[Any, Any, Any]):
    """A bug in the bundle strategy for one digest (set on the class by the test)."""

    digest = ""

    def sign(self, targets: Sequence[Target]) -> Any:
        if self.format is BUNDLE and str(targets[0].artifact.digest) == self.digest:
            self._calls.add("sign", self.format, ("broken",), len(targets))
            raise RuntimeError("a bug")
        return super().sign(targets)


def test_a_bug_fails_the_targets_of_its_task_only(
    kit: Kit, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = f"{repo}/a", f"{repo}/b"
    broken, fine = (kit.push(loc, f"{repo} layer {n}") for n, loc in ((0, a), (1, a)))
    kit.push(b, f"{repo} layer 0")
    monkeypatch.setattr(_BrokenBundleFor, "digest", broken)
    run = kit.sign(
        kit.image(a, broken), kit.image(b, broken), kit.image(a, fine), recording=_BrokenBundleFor
    )
    by_key = {(str(r.digest), r.repository, r.format): r for r in run.results}
    for loc in (a, b):
        failed = by_key[(broken, kit.location(loc), BUNDLE)]
        assert (failed.status, failed.notes) == (SignStatus.FAILED, ("internal error",))
        assert isinstance(failed.error, InternalError)
        assert failed.error.where == f"{kit.location(loc)}@{broken} (bundle)"
        assert "RuntimeError: a bug" in failed.error.what
        assert by_key[(broken, kit.location(loc), LEGACY)].status is SignStatus.SIGNED
    assert by_key[(fine, kit.location(a), BUNDLE)].status is SignStatus.SIGNED
    assert by_key[(fine, kit.location(a), LEGACY)].status is SignStatus.SIGNED
