"""`add_referrer` for tests and benchmarks: list one pushed manifest as a referrer and confirm it.

Production writes many entries and confirms them as one batch (`shipsign.sign.work`); tests
often need one entry written to the end, through the same public steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from shipsign.errors import ShipsignError
from shipsign.oci import Descriptor, Digest, RegistryClient, Repository
from shipsign.oci.referrers import (
    PendingReferrer,
    ReferrersResult,
    ReferrersSource,
    confirm_referrers,
    write_referrer,
)
from shipsign.oci.shared_tag import Clock

__all__ = ["add_referrer"]


def add_referrer(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    entry: Descriptor,
    *,
    listed: ReferrersResult | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Clock = time.monotonic,
) -> ReferrersSource:
    """`write_referrer`, then `confirm_referrers` (a lost race writes again); raise what fails."""
    written = write_referrer(client, repo, subject, entry, listed=listed, sleep=sleep, clock=clock)
    if not isinstance(written, PendingReferrer):
        return written
    with ThreadPoolExecutor(max_workers=1) as workers:
        [outcome] = confirm_referrers([written], workers=workers, sleep=sleep, clock=clock)
    if isinstance(outcome, ShipsignError):
        raise outcome
    return outcome
