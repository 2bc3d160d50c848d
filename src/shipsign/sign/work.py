"""The work of one sign run: per (digest, location, format), look for our signature, sign, write;
then confirm every write in one batch once the settle time has passed.

Each digest's bundle and each legacy signature is one task on a bounded pool, so that the read
that looked for an existing signature is usually still fresh when the write comes and can be
its base (`SigRead.fresh`, `ReferrersResult.fresh`) instead of a second read. The certificate
is requested by the first task that has something to sign; Fulcio's refusal stops the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from shipsign.checks import SignatureFormat
from shipsign.errors import InternalError, ShipsignError, UnreachableError
from shipsign.formats.bundle_ref import BundleArtifact, build_bundle_artifact
from shipsign.formats.legacy_sig import build_payload
from shipsign.keyless.fulcio_identity import certificate_issuer, subject_alternative_names
from shipsign.keyless.identity import IdentityToken
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.oci.client import Registries, RegistryClient
from shipsign.oci.media import referrer_descriptor
from shipsign.oci.reference import Digest, Repository
from shipsign.oci.referrers import (
    PendingReferrer,
    ReferrersResult,
    ReferrersSource,
    confirm_referrers,
    fetch_referrers,
    write_referrer,
)
from shipsign.sign.bundle import KnownBlobs, push_bundle
from shipsign.sign.existing import Existing, Mine, SigRead, fetch_sig, find_bundle, find_legacy
from shipsign.sign.legacy import (
    SigPending,
    SigWritten,
    append_signature,
    confirm_signatures,
    legacy_signature,
)
from shipsign.sign.model import SignRequest, SignResult, SignStatus
from shipsign.sign.plan import Artifact, Plan
from shipsign.sign.statement import build_statement, bundle_log_index

__all__ = ["SigningRun"]

_log = logging.getLogger(__name__)
_WORKERS = 16  # Rekor uploads and registry writes in flight; within each client's pool of 16
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Unit:
    artifact: Artifact
    repo: Repository
    format: SignatureFormat

    @property
    def key(self) -> tuple[Digest, str, SignatureFormat]:
        return (self.artifact.digest, self.repo.name, self.format)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pending:
    """A signature written, not confirmed yet: to the `.sig` manifest or the referrers index."""

    unit: _Unit
    write: SigPending | PendingReferrer
    log_index: int | None
    manifest: Digest | None = None  # the bundle referrer manifest (a .sig's is known later)


_Item = SignResult | _Pending


class SigningRun:
    """One run's shared state: the signer, who we are, blobs already pushed. Thread-safe."""

    def __init__(
        self,
        request: SignRequest,
        *,
        pool: Registries,
        signer: KeylessSigner,
        material: TrustMaterial,
        token: IdentityToken,
        now: datetime,
    ) -> None:
        self._request = request
        self._pool = pool
        self._signer = signer
        self._material = material
        self._annotations = request.annotation_map
        self._mine = Mine(
            identity=token.identity,
            issuer=token.issuer,
            annotations=self._annotations,
            trust=material,
            now=now,
        )
        self._now = now
        self._known = KnownBlobs()
        self._lock = threading.Lock()
        self._certified = False  # guarded by _lock
        self._refused: ShipsignError | None = None  # guarded by _lock

    @property
    def certified(self) -> bool:
        """Whether a certificate was requested (something was to be signed)."""
        with self._lock:
            return self._certified

    def who(self) -> tuple[str, str]:
        """The identity and issuer signed as: the certificate's, else the token's claims."""
        if not self.certified:
            return self._mine.identity, self._mine.issuer
        certificate = self._signer.certificate()
        names = subject_alternative_names(certificate)
        identity = names[0] if names else self._mine.identity
        return identity, certificate_issuer(certificate) or self._mine.issuer

    def execute(self, plan: Plan) -> tuple[SignResult, ...]:
        """Check, sign, write and confirm every unit of `plan`; results in plan order.

        Raises what Fulcio answered when no certificate could be had (nothing was signed).
        """
        units = [
            _Unit(artifact=a, repo=repo, format=fmt)
            for a in plan.artifacts
            for repo in a.locations
            for fmt in self._request.format.formats
        ]
        if not units:
            return ()
        done: dict[tuple[Digest, str, SignatureFormat], SignResult] = {}
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(units))) as workers:
            items = [item for future in self._submit(workers, units) for item in future.result()]
            done.update((_key(r), r) for r in items if isinstance(r, SignResult))
            pending = [item for item in items if isinstance(item, _Pending)]
            sigs = [(p, p.write) for p in pending if isinstance(p.write, SigPending)]
            refs = [(p, p.write) for p in pending if isinstance(p.write, PendingReferrer)]
            held = confirm_signatures([w for _, w in sigs], workers=workers)
            listed = confirm_referrers([w for _, w in refs], workers=workers)
            confirmed: list[tuple[_Pending, SigWritten | ReferrersSource | ShipsignError]] = [
                *((p, o) for (p, _), o in zip(sigs, held, strict=True)),
                *((p, o) for (p, _), o in zip(refs, listed, strict=True)),
            ]
            for item, outcome in confirmed:
                done[item.unit.key] = _confirmed(item, outcome)
        return tuple(done[unit.key] for unit in units)

    def _submit(self, workers: ThreadPoolExecutor, units: list[_Unit]) -> list[Future[list[_Item]]]:
        bundles: dict[Digest, list[_Unit]] = {}
        futures: list[Future[list[_Item]]] = []
        for unit in units:
            if unit.format is SignatureFormat.BUNDLE:
                bundles.setdefault(unit.artifact.digest, []).append(unit)
            else:
                futures.append(workers.submit(_contained, [unit], self._legacy, unit))
        futures += [
            workers.submit(_contained, group, self._bundle, group) for group in bundles.values()
        ]
        return futures

    def _client(self, unit: _Unit) -> RegistryClient:
        return self._pool.client(unit.repo.registry)

    def _certify(self) -> None:
        """Have the run's certificate before the first signature; a refusal stops the run."""
        with self._lock:  # held across the Fulcio call: every other task needs its answer
            if self._refused is not None:
                raise self._refused
            if self._certified:
                return
            try:
                self._signer.certificate()
            except ShipsignError as exc:
                self._refused = exc
                raise
            self._certified = True

    def _legacy(self, unit: _Unit) -> list[_Item]:
        read = self._check_legacy(unit)
        if isinstance(read, SignResult):
            return [read]
        self._certify()
        digest = unit.artifact.digest
        payload = build_payload(
            docker_reference=unit.repo.name,
            docker_manifest_digest=str(digest),
            optional=self._annotations or None,
        )
        try:
            signed = self._signer.sign_payload(payload)
        except ShipsignError as exc:
            return [_failed(unit, exc, note="signing failed")]
        signature = legacy_signature(signed, self._material)
        log_index = signed.rekor.log_index
        client = self._client(unit)
        try:
            sig = append_signature(client, unit.repo, digest, signature, read=read)
        except ShipsignError as exc:
            return [_failed(unit, exc, note="signed, but not written", log_index=log_index)]
        return [_Pending(unit=unit, write=sig, log_index=log_index)]

    def _bundle(self, units: list[_Unit]) -> list[_Item]:
        """One bundle for the digest of `units`, signed once and written to each location."""
        out: list[_Item] = []
        todo: list[tuple[_Unit, ReferrersResult | None]] = []
        for unit in units:
            listed = self._check_bundle(unit)
            if isinstance(listed, SignResult):
                out.append(listed)
            else:
                todo.append((unit, listed))
        if not todo:
            return out
        self._certify()
        artifact = units[0].artifact
        try:
            bundle_json = self._signer.sign_statement(
                build_statement(artifact.digest, self._annotations)
            )
        except ShipsignError as exc:
            return out + [_failed(u, exc, note="signing failed") for u, _ in todo]
        built = build_bundle_artifact(bundle_json, subject=artifact.descriptor, created=self._now)
        return out + self._publish(todo, built, bundle_log_index(bundle_json))

    def _publish(
        self,
        todo: list[tuple[_Unit, ReferrersResult | None]],
        built: BundleArtifact,
        log_index: int | None,
    ) -> list[_Item]:
        """Push the bundle everywhere, then list it: each index merge comes as soon after its
        read as it can, so that the read is more often fresh enough to be the base."""
        out: list[_Item] = []
        pushed: list[tuple[_Unit, ReferrersResult | None]] = []
        for unit, listed in todo:
            try:
                push_bundle(self._client(unit), unit.repo, built, known=self._known)
            except ShipsignError as exc:
                out.append(_failed(unit, exc, note="signed, but not written", log_index=log_index))
            else:
                pushed.append((unit, listed))
        manifest = built.manifest.digest
        entry = referrer_descriptor(built.manifest)
        for unit, listed in pushed:
            subject = unit.artifact.digest
            try:
                written = write_referrer(
                    self._client(unit), unit.repo, subject, entry, listed=listed
                )
            except ShipsignError as exc:
                out.append(
                    _failed(
                        unit, exc, note="signed and pushed, but not listed", log_index=log_index
                    )
                )
                continue
            if isinstance(written, PendingReferrer):
                item = _Pending(unit=unit, write=written, log_index=log_index, manifest=manifest)
                out.append(item)
            else:
                result = _result(unit, SignStatus.SIGNED, manifest=manifest, log_index=log_index)
                out.append(replace(result, referrers=written.value))
        return out

    def _check_legacy(self, unit: _Unit) -> SignResult | SigRead | None:
        """A result when nothing is to be written (already signed, or unreadable), else the
        read of the `.sig` tag (None with --force: the write reads for itself)."""
        if self._request.force:
            return None
        client = self._client(unit)
        try:
            read = fetch_sig(client, unit.repo, unit.artifact.digest)
            found = find_legacy(client, unit.repo, unit.artifact.digest, self._mine, read)
        except ShipsignError as exc:
            return _failed(unit, exc, note="could not look for existing signatures")
        return read if found is None else _skipped(unit, found)

    def _check_bundle(self, unit: _Unit) -> SignResult | ReferrersResult | None:
        """As `_check_legacy`, with the read of the digest's referrers."""
        if self._request.force:
            return None
        client = self._client(unit)
        try:
            listed = fetch_referrers(client, unit.repo, unit.artifact.digest)
            found = find_bundle(client, unit.repo, unit.artifact.digest, self._mine, listed)
        except ShipsignError as exc:
            return _failed(unit, exc, note="could not look for existing signatures")
        return listed if found is None else _skipped(unit, found)


def _contained(units: list[_Unit], work: Callable[[_T], list[_Item]], arg: _T) -> list[_Item]:
    """Run one task; what it raises is its units' failure, never the run's.

    `ShipsignError`s are results already (a Fulcio refusal stops the run on purpose); anything
    else is a bug below, which must not lose the report of the signatures written meanwhile.
    """
    try:
        return work(arg)
    except ShipsignError:
        raise
    except Exception as exc:
        _log.debug("unexpected error while signing %s", [u.key for u in units], exc_info=True)
        return [_failed(u, _internal(u, exc), note="internal error") for u in units]


def _internal(unit: _Unit, exc: Exception) -> InternalError:
    where = f"{unit.repo.name}@{unit.artifact.digest} ({unit.format.value})"
    return InternalError(
        f"internal error while signing {where}: {type(exc).__name__}: {exc}",
        where=where,
        found=type(exc).__name__,
        hint="this is a bug in shipsign; run with -v for the traceback and report it",
    )


def _confirmed(item: _Pending, outcome: SigWritten | ReferrersSource | ShipsignError) -> SignResult:
    if isinstance(outcome, ShipsignError):
        return _failed(item.unit, outcome, note="signed, but not written", log_index=item.log_index)
    if isinstance(outcome, ReferrersSource):
        result = _result(
            item.unit, SignStatus.SIGNED, manifest=item.manifest, log_index=item.log_index
        )
        return replace(result, referrers=outcome.value)
    note = (
        ""
        if outcome.attempts == 1
        else f"merged with a concurrent writer's signatures ({outcome.attempts} attempts)"
    )
    return _result(
        item.unit,
        SignStatus.SIGNED,
        manifest=outcome.manifest,
        log_index=item.log_index,
        note=note,
    )


def _key(result: SignResult) -> tuple[Digest, str, SignatureFormat]:
    return (result.digest, result.repository, result.format)


def _skipped(unit: _Unit, found: Existing) -> SignResult:
    return _result(
        unit,
        SignStatus.SKIPPED,
        manifest=found.manifest,
        log_index=found.log_index,
        note=f"already signed by this identity ({found.where}); --force signs again",
    )


def _result(
    unit: _Unit,
    status: SignStatus,
    *,
    manifest: Digest | None = None,
    log_index: int | None = None,
    note: str = "",
    error: ShipsignError | None = None,
) -> SignResult:
    return SignResult(
        digest=unit.artifact.digest,
        repository=unit.repo.name,
        format=unit.format,
        status=status,
        platform=unit.artifact.platform,
        index=unit.artifact.index,
        signature_manifest=manifest,
        log_index=log_index,
        notes=(note,) if note else (),
        error=error,
    )


def _failed(
    unit: _Unit, exc: ShipsignError, *, note: str, log_index: int | None = None
) -> SignResult:
    status = SignStatus.UNREACHABLE if isinstance(exc, UnreachableError) else SignStatus.FAILED
    return _result(unit, status, log_index=log_index, note=note, error=exc)
