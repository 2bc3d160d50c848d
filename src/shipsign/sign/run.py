"""Use case: sign images keylessly and publish cosign-compatible signatures next to every copy.

Resolve every input to a digest, group copies of one digest, skip what this identity already
signed, get one certificate for the whole run, then sign and write concurrently (bounded pool):
one DSSE bundle per digest pushed to every location, one legacy `.sig` layer per location.
A failed (digest, location, format) is a result, never a reason to stop the others.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from shipsign.errors import InputError, ShipsignError, UnreachableError
from shipsign.formats.bundle_ref import build_bundle_artifact
from shipsign.formats.legacy_sig import build_payload
from shipsign.keyless.checks import SignatureFormat
from shipsign.keyless.fulcio_identity import certificate_issuer, subject_alternative_names
from shipsign.keyless.identity import IdentityToken, resolve_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import Instance, Trust, load_trust
from shipsign.keyless.trust_material import TrustMaterial, load_trust_material
from shipsign.oci.client import Registries
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.sign.bundle import KnownBlobs, write_bundle
from shipsign.sign.consumer import verify_commands
from shipsign.sign.existing import Existing, Mine, find_bundle, find_legacy
from shipsign.sign.legacy import (
    SigPending,
    SigWritten,
    append_signature,
    confirm_signatures,
    legacy_signature,
)
from shipsign.sign.model import SignReport, SignRequest, SignResult, SignStatus
from shipsign.sign.plan import Artifact, Plan, build_plan
from shipsign.sign.readback import read_back
from shipsign.sign.statement import build_statement, bundle_log_index

__all__ = ["sign_images"]

_WORKERS = 16  # Rekor uploads and registry writes in flight; within each client's pool of 16


def sign_images(
    request: SignRequest, *, registries: Registries | None = None, now: datetime | None = None
) -> SignReport:
    """Sign every image of `request` and verify what was written; one result per signature.

    Raises `InputError` for bad input (reference, trust file, no identity token, an image that
    does not exist) before anything is signed, and `InputError`/`UnreachableError` when Fulcio
    refuses or cannot be reached (nothing can be signed then). Everything after that is data.
    `registries` (with its keychain and insecure hosts) replaces the request's.
    """
    start = now or datetime.now(timezone.utc)
    refs = [Reference.parse(image) for image in request.images]
    if not refs:
        raise InputError("no image to sign", expected="one or more image references")
    trust = load_trust(replace(request.trust, force_rekor_v1=True))  # the legacy format's SET
    token = resolve_identity_token(request.identity_token, now=start)
    signer = KeylessSigner(trust, token, renew_identity=_renewal(request))
    own = registries is None
    pool = (
        registries
        if registries is not None
        else Registries(keychain=request.keychain, insecure=request.insecure_registries)
    )
    try:
        plan = build_plan(pool, request.images, refs, recursive=request.recursive)
        run = _Run(request, pool=pool, signer=signer, trust=trust, token=token, now=start)
        results = run.execute(plan)
        identity, issuer = run.who()
        if request.verify_after and results:
            results = read_back(
                results,
                identity=identity,
                issuer=issuer,
                trust=request.trust,
                registries=pool,
                now=now,
            )
    finally:
        if own:
            pool.close()
    return _report(
        request, plan, results, who=run.who(), trust=trust, signer=signer, certified=run.certified
    )


def _report(
    request: SignRequest,
    plan: Plan,
    results: tuple[SignResult, ...],
    *,
    who: tuple[str, str],
    trust: Trust,
    signer: KeylessSigner,
    certified: bool,
) -> SignReport:
    identity, issuer = who
    options = request.trust
    return SignReport(
        images=plan.targets,
        results=results,
        identity=identity,
        issuer=issuer,
        trust_source=trust.source,
        public_log=options.trust_config is None and options.instance is Instance.PRODUCTION,
        services=signer.stats(),
        certificate_requested=certified,
        verify_commands=verify_commands(
            plan.targets,
            identity=identity,
            issuer=issuer,
            trust=options,
            recursive=request.recursive,
            insecure_registries=request.insecure_registries,
        ),
        verified=request.verify_after,
    )


def _renewal(request: SignRequest) -> Callable[[], IdentityToken] | None:
    if request.identity_token is not None:
        return None  # an explicit token cannot be renewed; the signer says so when it expires
    return lambda: resolve_identity_token(None, now=datetime.now(timezone.utc))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Unit:
    artifact: Artifact
    repo: Repository
    format: SignatureFormat

    @property
    def key(self) -> tuple[Digest, str, SignatureFormat]:
        return (self.artifact.digest, self.repo.name, self.format)


class _Run:
    """One run's shared state: the signer, who we are, blobs already pushed. Thread-safe."""

    def __init__(
        self,
        request: SignRequest,
        *,
        pool: Registries,
        signer: KeylessSigner,
        trust: Trust,
        token: IdentityToken,
        now: datetime,
    ) -> None:
        self._request = request
        self._pool = pool
        self._signer = signer
        self._material: TrustMaterial = load_trust_material(trust.trusted_root)
        self._annotations = request.annotation_map
        self._mine = Mine(
            identity=token.identity,
            issuer=token.issuer,
            annotations=self._annotations,
            trust=self._material,
            now=now,
        )
        self._now = now
        self._known = KnownBlobs()
        self.certified = False  # set once, by the thread that runs execute()

    def who(self) -> tuple[str, str]:
        """The identity and issuer signed as: the certificate's, else the token's claims."""
        if not self.certified:
            return self._mine.identity, self._mine.issuer
        certificate = self._signer.certificate()
        names = subject_alternative_names(certificate)
        identity = names[0] if names else self._mine.identity
        return identity, certificate_issuer(certificate) or self._mine.issuer

    def execute(self, plan: Plan) -> tuple[SignResult, ...]:
        """Check, sign and write every unit of `plan`; results in plan order."""
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
            checked = list(workers.map(self._check, units))
            todo = [unit for unit, result in zip(units, checked, strict=True) if result is None]
            done.update((_key(r), r) for r in checked if r is not None)
            if todo:
                self._signer.certificate()  # one Fulcio call; refused/unreachable stops the run
                self.certified = True
            pending: list[_Pending] = []
            for future in self._submit(workers, todo):
                for item in future.result():
                    if isinstance(item, _Pending):
                        pending.append(item)
                    else:
                        done[_key(item)] = item
            confirmed = confirm_signatures([p.sig for p in pending], workers=workers)
            for item, outcome in zip(pending, confirmed, strict=True):
                done[item.unit.key] = _legacy_result(item, outcome)
        return tuple(done[unit.key] for unit in units)

    def _submit(
        self, workers: ThreadPoolExecutor, todo: list[_Unit]
    ) -> list[Future[list[SignResult | _Pending]]]:
        bundles: dict[Digest, list[_Unit]] = {}
        legacy: list[_Unit] = []
        for unit in todo:
            if unit.format is SignatureFormat.BUNDLE:
                bundles.setdefault(unit.artifact.digest, []).append(unit)
            else:
                legacy.append(unit)
        futures: list[Future[list[SignResult | _Pending]]] = [
            workers.submit(self._bundle, group) for group in bundles.values()
        ]
        futures += [workers.submit(self._legacy_one, unit) for unit in legacy]
        return futures

    def _legacy_one(self, unit: _Unit) -> list[SignResult | _Pending]:
        return [self._legacy(unit)]

    def _check(self, unit: _Unit) -> SignResult | None:
        """The result when nothing is to be written (already signed, or unreadable), else None."""
        if self._request.force:
            return None
        client = self._pool.client(unit.repo.registry)
        found: Existing | None
        try:
            if unit.format is SignatureFormat.BUNDLE:
                found = find_bundle(client, unit.repo, unit.artifact.digest, self._mine)
            else:
                found = find_legacy(client, unit.repo, unit.artifact.digest, self._mine)
        except ShipsignError as exc:
            return _failed(unit, exc, note="could not look for existing signatures")
        if found is None:
            return None
        return _result(
            unit,
            SignStatus.SKIPPED,
            manifest=found.manifest,
            log_index=found.log_index,
            note=f"already signed by this identity ({found.where}); --force signs again",
        )

    def _bundle(self, units: list[_Unit]) -> list[SignResult | _Pending]:
        artifact = units[0].artifact
        statement = build_statement(artifact.digest, self._annotations)
        try:
            bundle_json = self._signer.sign_statement(statement)
        except ShipsignError as exc:
            return [_failed(u, exc, note="signing failed") for u in units]
        built = build_bundle_artifact(bundle_json, subject=artifact.descriptor, created=self._now)
        log_index = bundle_log_index(bundle_json)
        out: list[SignResult | _Pending] = []
        for unit in units:
            client = self._pool.client(unit.repo.registry)
            try:
                source = write_bundle(client, unit.repo, artifact.digest, built, known=self._known)
            except ShipsignError as exc:
                out.append(_failed(unit, exc, note="signed, but not written", log_index=log_index))
                continue
            result = _result(
                unit, SignStatus.SIGNED, manifest=built.manifest.digest, log_index=log_index
            )
            out.append(replace(result, referrers=source.value))
        return out

    def _legacy(self, unit: _Unit) -> SignResult | _Pending:
        digest = unit.artifact.digest
        payload = build_payload(
            docker_reference=unit.repo.name,
            docker_manifest_digest=str(digest),
            optional=self._annotations or None,
        )
        try:
            signed = self._signer.sign_payload(payload)
        except ShipsignError as exc:
            return _failed(unit, exc, note="signing failed")
        signature = legacy_signature(signed, self._material)
        log_index = signed.rekor.log_index
        client = self._pool.client(unit.repo.registry)
        try:
            sig = append_signature(client, unit.repo, digest, signature)
        except ShipsignError as exc:
            return _failed(unit, exc, note="signed, but not written", log_index=log_index)
        return _Pending(unit=unit, sig=sig, log_index=log_index)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pending:
    """A legacy signature written to its `.sig` manifest, not confirmed yet."""

    unit: _Unit
    sig: SigPending
    log_index: int


def _legacy_result(item: _Pending, outcome: SigWritten | ShipsignError) -> SignResult:
    if isinstance(outcome, ShipsignError):
        return _failed(item.unit, outcome, note="signed, but not written", log_index=item.log_index)
    note = (
        ""
        if outcome.attempts == 1
        else (f"merged with a concurrent writer's signatures ({outcome.attempts} attempts)")
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
