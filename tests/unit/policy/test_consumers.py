"""The consumer matrix: which verifiers can read what a signing run wrote."""

from __future__ import annotations

import pytest

from shipsign.policy.consumers import Reads, who_can_verify


def _can(*, bundle: bool, legacy: bool) -> dict[str, bool]:
    return {c.name: c.can_verify for c in who_can_verify(bundle=bundle, legacy=legacy)}


def test_both_formats_reach_every_verifier() -> None:
    assert all(_can(bundle=True, legacy=True).values())


def test_bundle_only_loses_every_sig_only_verifier() -> None:
    can = _can(bundle=True, legacy=False)
    assert can["Flux before 2.8"] is False  # a Flux 2.7 cluster refuses the image
    assert can["cosign before v2.6.3"] is False  # the peer tests see v2.4.0 refuse it
    assert can["Connaisseur"] is False
    assert can["Kyverno ClusterPolicy type: Cosign"] is False
    assert can["policy-controller"] is False
    assert can["cosign v3, v2.6.3 and later"] is True
    assert can["gh attestation verify --bundle-from-oci"] is True


def test_legacy_only_loses_the_bundle_readers() -> None:
    readers = {c.name for c in who_can_verify(bundle=False, legacy=True) if not c.can_verify}
    bundle_only = {
        c.name for c in who_can_verify(bundle=True, legacy=True) if c.reads is Reads.BUNDLE
    }
    assert readers == bundle_only
    assert "gh attestation verify --bundle-from-oci" in readers


@pytest.mark.parametrize(("bundle", "legacy"), [(True, True), (True, False), (False, True)])
def test_every_row_says_how_to_set_it_up(bundle: bool, legacy: bool) -> None:
    for consumer in who_can_verify(bundle=bundle, legacy=legacy):
        assert consumer.how.startswith("shipsign policy --engine ")


def test_nothing_written_verifies_nowhere() -> None:
    assert not any(_can(bundle=False, legacy=False).values())
