"""The scheduler of one sign run: every (digest, location, format) of the plan goes through
its format's `SignatureStrategy` (look, sign, write), then every write is confirmed in one
batch per format once its settle time has passed.

Targets that share a signature are one task on a bounded pool: a digest's locations for a
format whose claims do not name the location (bundles), else each location alone (legacy).
A task looks at each of its targets first, so that the read that looked is usually still
fresh when the write comes and can be its base. The certificate is requested by the first
task that has something to sign; Fulcio's refusal stops the run. Anything else that goes
wrong is the result of the targets it concerns, never a reason to stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from shipsign.checks import SignatureFormat
from shipsign.errors import InternalError, ShipsignError
from shipsign.keyless.session import SigningSession
from shipsign.oci.reference import Digest
from shipsign.sign.existing import Existing
from shipsign.sign.model import SignResult
from shipsign.sign.plan import Plan
from shipsign.sign.strategy import (
    AnyStrategy,
    SignatureStrategy,
    Target,
    TargetKey,
    failed,
    result_key,
    skipped,
)

__all__ = ["sign_plan"]

_log = logging.getLogger(__name__)
_WORKERS = 16  # Rekor uploads and registry writes in flight; within each client's pool of 16

_R = TypeVar("_R")
_S = TypeVar("_S")
_P = TypeVar("_P")


def sign_plan(
    plan: Plan,
    strategies: Sequence[AnyStrategy],
    *,
    session: SigningSession,
    force: bool,
) -> tuple[SignResult, ...]:
    """Look, sign, write and confirm every (digest, location, format) of `plan`, one format per
    strategy; results in plan order (artifact, location, then the strategies' order).

    With `force`, nothing is looked for: every target is signed again. Raises what Fulcio
    answered when no certificate could be had (nothing was signed).
    """
    targets = [
        Target(artifact=artifact, repo=repo, format=strategy.format)
        for artifact in plan.artifacts
        for repo in artifact.locations
        for strategy in strategies
    ]
    if not targets:
        return ()
    by_format = {strategy.format: strategy for strategy in strategies}
    groups: dict[tuple[Digest, str | None, SignatureFormat], list[Target]] = {}
    for target in targets:
        alone = target.repo.name if by_format[target.format].names_location else None
        groups.setdefault((target.artifact.digest, alone, target.format), []).append(target)
    done: dict[TargetKey, SignResult] = {}
    pending: dict[SignatureFormat, list[Any]] = {strategy.format: [] for strategy in strategies}
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(targets))) as workers:
        tasks: list[tuple[SignatureFormat, Future[list[Any]]]] = [
            (fmt, workers.submit(_contained, by_format[fmt], group, session, force))
            for (_, _, fmt), group in groups.items()
        ]
        for fmt, future in tasks:
            for item in future.result():
                if isinstance(item, SignResult):
                    done[result_key(item)] = item
                else:
                    pending[fmt].append(item)  # the strategy's own kind of pending write
        for strategy in strategies:
            if pending[strategy.format]:
                confirmed = strategy.confirm(pending[strategy.format], workers=workers)
                done.update((result_key(r), r) for r in confirmed)
    return tuple(done[target.key] for target in targets)


def _sign_group(
    strategy: SignatureStrategy[_R, _S, _P],
    group: Sequence[Target],
    session: SigningSession,
    force: bool,
) -> list[SignResult | _P]:
    """The targets of one signature: look at each, then sign once and write it where it is
    missing."""
    out: list[SignResult | _P] = []
    todo: list[tuple[Target, _R | None]] = []
    for target in group:
        if force:
            todo.append((target, None))  # the write reads for itself
            continue
        try:
            found = strategy.look(target)
        except ShipsignError as exc:
            out.append(failed(target, exc, note="could not look for existing signatures"))
            continue
        if isinstance(found, Existing):
            out.append(skipped(target, found))
        else:
            todo.append((target, found))
    if not todo:
        return out
    session.certify()
    try:
        signed = strategy.sign([target for target, _ in todo])
    except ShipsignError as exc:
        return out + [failed(target, exc, note="signing failed") for target, _ in todo]
    return out + strategy.write(signed, todo)


def _contained(
    strategy: SignatureStrategy[_R, _S, _P],
    group: Sequence[Target],
    session: SigningSession,
    force: bool,
) -> list[SignResult | _P]:
    """Run one task; what it raises is its targets' failure, never the run's.

    `ShipsignError`s are results already (a Fulcio refusal stops the run on purpose); anything
    else is a bug below, which must not lose the report of the signatures written meanwhile.
    """
    try:
        return _sign_group(strategy, group, session, force)
    except ShipsignError:
        raise
    except Exception as exc:
        _log.debug("unexpected error while signing %s", [t.key for t in group], exc_info=True)
        return [failed(t, _internal(t, exc), note="internal error") for t in group]


def _internal(target: Target, exc: Exception) -> InternalError:
    return InternalError(
        f"internal error while signing {target.where}: {type(exc).__name__}: {exc}",
        where=target.where,
        found=type(exc).__name__,
        hint="this is a bug in shipsign; run with -v for the traceback and report it",
    )
