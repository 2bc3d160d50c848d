"""The gate's decision: from image uses found in files to one verdict per distinct image.

Each distinct reference is resolved once (a tag to its digest), each distinct `repository@digest`
is verified once against the `[[policy]]` that covers its repository (the same lookup
`verify --config` and the exports use), and every use of it shares the verdict. A registry
that cannot be read is UNREACHABLE, never UNSIGNED: it must not turn into a failure a rerun
would not fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from shipsign.checks import SignatureOutcome
from shipsign.errors import InputError, ShipsignError, UnreachableError
from shipsign.gate.model import GateImage, ImageUse, RefKind, Verdict
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust import TrustOptions
from shipsign.keyless.trust_material import TrustMaterial, load_verification_trust
from shipsign.oci.client import Registries
from shipsign.oci.reference import Reference
from shipsign.policy.config import PolicyEntry, ShipsignConfig
from shipsign.verify import ImageResult, ImageStatus, VerifyRequest, verify_images

__all__ = ["GateOptions", "Judged", "judge"]

_RESOLVE_WORKERS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class GateOptions:
    """How strict the gate is, and how it reaches registries and Sigstore trust."""

    require_policy: bool = False  # an image no [[policy]] covers fails (else a warning)
    require_digest: bool = False  # a tag or dynamic reference fails (else a warning)
    trust: TrustOptions = field(default_factory=TrustOptions)
    insecure_registries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Judged:
    images: tuple[GateImage, ...]
    resolved: int  # tags resolved (one request each)
    verified: int  # distinct repository@digest verified


@dataclass(slots=True)
class _Entry:
    """One distinct image reference (normalised) and what happened to it."""

    image: str
    uses: list[ImageUse]
    ref: Reference | None = None
    digest: str | None = None
    entries: tuple[PolicyEntry, ...] = ()
    verdict: Verdict | None = None
    detail: str = ""
    warnings: list[str] = field(default_factory=list)
    result: ImageResult | None = None


def judge(
    uses: Sequence[ImageUse],
    config: ShipsignConfig | None,
    options: GateOptions,
    *,
    registries: Registries | None = None,
    trust: TrustMaterial | None = None,
) -> Judged:
    """One GateImage per distinct reference in `uses`, in order of first use.

    Network: one resolve per tag reference, the signature lookups of each distinct digest, and
    the trust root unless `trust` is given (loaded only if something needs verifying). Raises
    nothing for an image: every failure is a verdict. Raises `InputError`/`UnreachableError`
    only for the run's trust.
    """
    entries = _group(uses)
    for entry in entries:
        _classify(entry, config)
    to_check = [e for e in entries if e.verdict is None]
    own = registries is None
    pool = registries or Registries(insecure=options.insecure_registries)
    try:
        resolved = _resolve(pool, to_check)
        verified = 0
        pending = [e for e in to_check if e.verdict is None]
        if pending:
            material = trust or load_verification_trust(options.trust)
            verified = _verify(pool, pending, material, config)
    finally:
        if own:
            pool.close()
    images = tuple(_gate_image(e, options) for e in entries)
    return Judged(images=images, resolved=resolved, verified=verified)


def _group(uses: Sequence[ImageUse]) -> list[_Entry]:
    by_key: dict[str, _Entry] = {}
    for use in uses:
        key = use.image if use.image is not None else f"{use.kind.value}:{use.text}"
        entry = by_key.get(key)
        if entry is None:
            entry = by_key[key] = _Entry(image=use.image or use.text, uses=[])
        entry.uses.append(use)
    return list(by_key.values())


def _classify(entry: _Entry, config: ShipsignConfig | None) -> None:
    first = entry.uses[0]
    if first.image is None:
        if first.kind is RefKind.DYNAMIC:
            entry.verdict = Verdict.DYNAMIC
            entry.detail = "built from a variable or expression: cannot be checked here"
        else:
            entry.verdict = Verdict.INVALID
            entry.detail = first.note or "not a valid image reference"
        return
    try:
        entry.ref = Reference.parse(first.image)
    except InputError as exc:
        entry.verdict = Verdict.INVALID
        entry.detail = exc.what
        return
    if any(u.kind is RefKind.HEURISTIC for u in entry.uses):
        entry.warnings.append("found by the Helm values convention (heuristic), not rendered")
    entry.entries = config.entries_for(first.image) if config is not None else ()
    if not entry.entries:
        entry.verdict = Verdict.NOT_COVERED
        entry.detail = (
            f"no [[policy]] in {config.path} covers {entry.ref.repository.name}"
            if config is not None
            else "no policy file (.shipsign.toml) was found"
        )


def _resolve(pool: Registries, entries: Sequence[_Entry]) -> int:
    """Pin each entry to a digest: the one written, or its tag's (one request per distinct tag)."""
    tags = [e for e in entries if e.ref is not None and e.ref.digest is None]
    for e in entries:
        if e.ref is not None and e.ref.digest is not None:
            e.digest = str(e.ref.digest)

    def one(entry: _Entry) -> None:
        ref = entry.ref
        if ref is None:
            return
        try:
            found = pool.client(ref.repository.registry).resolve(ref)
        except UnreachableError as exc:
            entry.verdict, entry.detail = Verdict.UNREACHABLE, _one_line(exc)
            return
        except InputError as exc:
            entry.verdict, entry.detail = Verdict.FAILED, _one_line(exc)
            return
        entry.digest = str(found.digest)
        entry.warnings.append(
            f"tag {ref.identifier} is not pinned to a digest; verified {found.digest}"
        )

    if tags:
        with ThreadPoolExecutor(max_workers=min(_RESOLVE_WORKERS, len(tags))) as workers:
            list(workers.map(one, tags))
    return len(tags)


def _verify(
    pool: Registries,
    entries: Sequence[_Entry],
    material: TrustMaterial,
    config: ShipsignConfig | None,
) -> int:
    """Verify each distinct repository@digest once, grouped by the policy that decides it."""
    groups: dict[tuple[int, ...], dict[str, list[_Entry]]] = {}
    for entry in entries:
        if entry.ref is None or entry.digest is None:
            continue
        key = tuple(id(p) for p in entry.entries)
        pinned = f"{entry.ref.repository.name}@{entry.digest}"
        groups.setdefault(key, {}).setdefault(pinned, []).append(entry)
    count = 0
    for by_digest in groups.values():
        sample = next(iter(by_digest.values()))[0]
        config_policy = _policy(config, sample)
        if isinstance(config_policy, ShipsignError):
            for group in by_digest.values():
                for entry in group:
                    entry.verdict, entry.detail = Verdict.FAILED, _one_line(config_policy)
            continue
        request = VerifyRequest(images=tuple(by_digest), policy=config_policy)
        report = verify_images(request, registries=pool, trust=material)
        count += len(by_digest)
        for result, group in zip(report.images, by_digest.values(), strict=True):
            for entry in group:
                entry.result = result
                entry.verdict, entry.detail = _verdict(result)
    return count


def _policy(config: ShipsignConfig | None, entry: _Entry) -> IdentityPolicy | ShipsignError:
    """The identity policy the config file gives this entry's image (`policy_for`, as verify
    and the exports read it); a config error is this image's failure, not the run's."""
    if config is None:  # never: an entry without a config is NOT_COVERED before this
        return InputError("no policy file", expected="a .shipsign.toml with [[policy]] entries")
    try:
        return config.policy_for(entry.image)
    except ShipsignError as exc:
        return exc


_STATUS = {
    ImageStatus.VERIFIED: Verdict.PASSED,
    ImageStatus.FAILED: Verdict.FAILED,
    ImageStatus.UNSIGNED: Verdict.UNSIGNED,
    ImageStatus.UNREACHABLE: Verdict.UNREACHABLE,
}


def _verdict(result: ImageResult) -> tuple[Verdict, str]:
    verdict = _STATUS[result.status]
    if result.status is ImageStatus.VERIFIED:
        return verdict, ""
    if result.error is not None:
        return verdict, _one_line(result.error)
    if result.status is ImageStatus.UNSIGNED:
        extra = f" ({result.notes[0]})" if result.notes else ""
        return verdict, "no signature found" + extra
    failures = [f for s in result.signatures for f in s.outcome.failures]
    if failures:
        f = failures[0]
        return verdict, f"{f.check}: expected {f.expected}; found {f.found}"
    return verdict, "no signature passed"


def _outcome(result: ImageResult | None) -> tuple[str, str, str]:
    """(identity, issuer, format) of the passing signature, else of the first one found."""
    if result is None or not result.signatures:
        return "", "", ""
    chosen: SignatureOutcome = (result.verified or result.signatures)[0].outcome
    facts = chosen.facts
    return facts.identity or "", facts.issuer or "", chosen.format.value


def _gate_image(entry: _Entry, options: GateOptions) -> GateImage:
    verdict = entry.verdict or Verdict.FAILED  # fail closed: nothing decided is not a pass
    warnings = list(entry.warnings)
    failing = verdict in (Verdict.FAILED, Verdict.UNSIGNED, Verdict.INVALID)
    if verdict is Verdict.NOT_COVERED:
        failing = options.require_policy
    unpinned = entry.ref is not None and entry.ref.digest is None
    if unpinned and entry.digest is None and entry.ref is not None:
        warnings.append(f"tag {entry.ref.identifier} is not pinned to a digest")
    if verdict is Verdict.DYNAMIC or unpinned:
        failing = failing or options.require_digest
    if verdict is Verdict.DYNAMIC:
        warnings.append("a dynamic reference: pin the image by digest so that it can be checked")
    signer, issuer, fmt = _outcome(entry.result)
    return GateImage(
        image=entry.image,
        uses=tuple(entry.uses),
        verdict=verdict,
        digest=entry.digest,
        signer=signer,
        issuer=issuer,
        format=fmt,
        detail=entry.detail,
        warnings=tuple(warnings),
        failing=failing,
    )


def _one_line(exc: ShipsignError) -> str:
    text = exc.what + (f" ({exc.found})" if exc.found else "")
    return text.replace("\n", " ")[:300]
