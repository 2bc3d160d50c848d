"""Verify after signing: read every signature back from every location and verify it as a
consumer would (the `verify` use case, exact identity and issuer of our certificate), retrying
briefly for registries that serve a write a moment late.

Our signature is recognised by its Rekor log index: another valid signature by the same
identity does not stand in for one this run wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from shipsign.checks import SignatureFormat
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.oci.client import Registries
from shipsign.retry import RetryPolicy
from shipsign.sign.model import ReadBack, SignResult, SignStatus
from shipsign.verify import ImageResult, ImageStatus, SourceFormat, VerifyRequest, verify_images

__all__ = ["read_back"]

# Between rounds, ~4 s in all for read-after-write lag: 0.25, 0.5, 1 and 2 s (no jitter: one
# reader, nobody to spread apart from).
_ROUNDS = RetryPolicy(attempts=5, base=0.25, cap=2.0, spread=0.0)

_Key = tuple[str, SignatureFormat]


def read_back(
    results: Sequence[SignResult],
    *,
    identity: str,
    issuer: str,
    trust: TrustMaterial,
    registries: Registries,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[SignResult, ...]:
    """Return `results` with `readback` set for every signature that was written or found.

    `trust` is the run's, loaded once: every round verifies with it. Network: the registries.
    """
    pending: dict[_Key, list[int]] = {}
    for n, result in enumerate(results):
        if result.status in (SignStatus.SIGNED, SignStatus.SKIPPED):
            pending.setdefault((result.reference, result.format), []).append(n)
    out = list(results)
    policy = IdentityPolicy.exact(identity=identity, issuer=issuer)
    last: dict[_Key, ImageResult] = {}
    delays = [_ROUNDS.backoff(n) for n in range(2, _ROUNDS.attempts + 1)]
    for delay in (*delays, None):
        if not pending:
            break
        for key, image in _verify_round(list(pending), policy, trust, registries, now):
            last[key] = image
            done = [n for n in pending[key] if _ours_verified(image, out[n].log_index)]
            for n in done:
                out[n] = replace(out[n], readback=ReadBack.VERIFIED)
            pending[key] = [n for n in pending[key] if n not in done]
            if not pending[key]:
                del pending[key]
        if pending and delay is not None:
            sleep(delay)
    for key, indexes in pending.items():
        image = last[key]
        verdict = (
            ReadBack.UNREACHABLE if image.status is ImageStatus.UNREACHABLE else ReadBack.FAILED
        )
        for n in indexes:
            note = f"read-back: {_why(image, out[n].log_index)}"
            out[n] = replace(out[n], readback=verdict, notes=(*out[n].notes, note))
    return tuple(out)


def _verify_round(
    keys: list[_Key],
    policy: IdentityPolicy,
    trust: TrustMaterial,
    registries: Registries,
    now: datetime | None,
) -> list[tuple[_Key, ImageResult]]:
    """Verify every (reference, format) once; the two formats side by side."""
    requests = [
        VerifyRequest(
            images=tuple(ref for ref, f in keys if f is fmt),
            policy=policy,
            format=SourceFormat(fmt.value),
            audit=True,  # every signature this run wrote must be confirmed, not just one
        )
        for fmt in (SignatureFormat.BUNDLE, SignatureFormat.LEGACY)
        if any(f is fmt for _, f in keys)
    ]
    with ThreadPoolExecutor(max_workers=len(requests)) as workers:
        reports = list(
            workers.map(
                lambda r: verify_images(r, registries=registries, now=now, trust=trust), requests
            )
        )
    return [
        ((image.input, SignatureFormat(request.format.value)), image)
        for request, report in zip(requests, reports, strict=True)
        for image in report.images
    ]


def _ours_verified(image: ImageResult, log_index: int | None) -> bool:
    return any(log_index is None or s.outcome.facts.log_index == log_index for s in image.verified)


def _why(image: ImageResult, log_index: int | None) -> str:
    if image.status is ImageStatus.UNREACHABLE and image.error is not None:
        return f"could not read the signatures back: {image.error.what}"
    if image.status is ImageStatus.UNSIGNED:
        return f"no signature found (looked in {', '.join(image.looked_in)})"
    if image.verified:
        return (
            f"{len(image.verified)} signature(s) verified, but not ours "
            f"(Rekor log index {log_index})"
        )
    failures = [f for s in image.signatures for f in s.outcome.failures]
    if not failures:
        return "no signature verified"
    first = failures[0]
    return (
        f"no signature verified; first failure: check {first.check} "
        f"(expected {first.expected}, found {first.found})"
    )
