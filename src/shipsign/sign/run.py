"""Use case: sign images keylessly and publish cosign-compatible signatures next to every copy,
and sign files (release assets) with the same certificate.

Files are planned (expanded, checked, hashed) before the token is even read. Every input is
resolved to a digest and copies of one digest are grouped. Then everything is signed in one
`SigningSession`, with one certificate: the images concurrently (`work.py`, one strategy per
format: one DSSE bundle per digest pushed to every location, one legacy `.sig` layer per
location; what this identity signed already is skipped), then the files (`shipsign.blobs`).
A failed (digest, location, format) or file is a result, never a reason to stop the others.
Last, with `tags`, the tags move, only when everything, files included, was signed and
verified (`tags.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

from shipsign.blobs import FilePlan, FileResult, plan_files, sign_files
from shipsign.checks import SignatureFormat
from shipsign.errors import InputError
from shipsign.keyless.identity import (
    IdentityToken,
    parse_identity_token,
    resolve_identity_token,
)
from shipsign.keyless.session import SigningSession
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import Instance, Trust, load_trust
from shipsign.keyless.trust_material import verification_trust
from shipsign.oci.client import Registries
from shipsign.oci.reference import Reference
from shipsign.sign.bundle_strategy import BundleStrategy
from shipsign.sign.consumer import blob_verify_commands, verify_commands
from shipsign.sign.existing import Mine
from shipsign.sign.legacy_strategy import LegacyStrategy
from shipsign.sign.model import SignReport, SignRequest, SignResult
from shipsign.sign.plan import Plan, build_plan
from shipsign.sign.readback import read_back
from shipsign.sign.strategy import AnyStrategy
from shipsign.sign.tags import TagResult, hold_tags, move_tags, tag_targets
from shipsign.sign.work import sign_plan

__all__ = ["plan_files_for", "sign_artifacts", "sign_images"]


def sign_artifacts(
    request: SignRequest,
    *,
    registries: Registries | None = None,
    now: datetime | None = None,
    file_plan: FilePlan | None = None,
) -> SignReport:
    """Sign every image and file of `request` with one certificate and verify what was
    written; one result per image signature and one per file.

    Raises `InputError` for bad input (reference, file, trust file, no identity token, an image
    that does not exist) before anything is signed, and `InputError`/`UnreachableError` when
    Fulcio refuses or cannot be reached (nothing can be signed then). Everything after that is
    data. `registries` (with its keychain and insecure hosts) replaces the request's;
    `file_plan`, made by the caller with `plan_files_for(request)`, replaces planning the files.
    """
    start = now or datetime.now(timezone.utc)
    refs = [Reference.parse(image) for image in request.images]
    if not refs and request.files is None:
        raise InputError("no image to sign", expected="one or more image references")
    # local input, checked before anything else happens
    files = file_plan if file_plan is not None else plan_files_for(request)
    token, renew = _identity(request, start)  # first: no token is the commonest mistake
    trust = load_trust(replace(request.trust, force_rekor_v1=True))  # the legacy format's SET
    signer = KeylessSigner(trust, token, renew_identity=renew)
    material = verification_trust(trust)  # the run's, loaded once
    session = SigningSession(signer, material=material, token=token, now=start)
    own = registries is None
    pool = (
        registries
        if registries is not None
        else Registries(keychain=request.keychain, insecure=request.insecure_registries)
    )
    try:
        plan = build_plan(pool, request.images, refs, recursive=request.recursive)
        to_tag = tag_targets(
            request.tags,
            [(loc, a.digest) for a in plan.artifacts if a.index is None for loc in a.locations],
        )  # before signing: a tag that would name two digests is bad input
        strategies = _strategies(request, session, pool)
        results = sign_plan(plan, strategies, session=session, force=request.force)
        signed_files = _sign_files(request, files, session)
        identity, issuer = session.signed_as()
        if request.verify_after and results:
            results = read_back(
                results,
                identity=identity,
                issuer=issuer,
                trust=material,
                registries=pool,
                now=now,
            )
        tags: tuple[TagResult, ...] = ()
        if to_tag:
            everywhere = (
                all(r.ok for r in results)
                and all(t.error is None for t in plan.targets)
                and all(f.ok for f in signed_files)
            )
            tags = move_tags(pool, to_tag) if everywhere and results else hold_tags(to_tag)
    finally:
        if own:
            pool.close()
    report = _report(request, plan, results, session=session, trust=trust, files=signed_files)
    return replace(report, tags=tags)


sign_images = sign_artifacts  # the name from before files could be signed too


def plan_files_for(request: SignRequest) -> FilePlan | None:
    """The files `request` signs, expanded, checked and hashed (None: no files). Raises
    `InputError` for bad input; writes nothing."""
    if request.files is None:
        return None
    options = request.files
    if request.force and not options.force:
        options = replace(options, force=True)
    return plan_files(options)


def _strategies(
    request: SignRequest, session: SigningSession, registries: Registries
) -> list[AnyStrategy]:
    """One strategy per format asked for, in the request's order (bundle first)."""
    mine = Mine(
        identity=session.identity,
        issuer=session.issuer,
        annotations=request.annotation_map,
        trust=session.material,
        now=session.now,
    )
    made: dict[SignatureFormat, AnyStrategy] = {
        SignatureFormat.BUNDLE: BundleStrategy(session, registries, mine),
        SignatureFormat.LEGACY: LegacyStrategy(session, registries, mine),
    }
    return [made[fmt] for fmt in request.format.formats]


def _sign_files(
    request: SignRequest, files: FilePlan | None, session: SigningSession
) -> tuple[FileResult, ...]:
    """The files, in the images' session: the same key and certificate."""
    if files is None:
        return ()
    return sign_files(session, files, verify_after=request.verify_after)


def _report(
    request: SignRequest,
    plan: Plan,
    results: tuple[SignResult, ...],
    *,
    session: SigningSession,
    trust: Trust,
    files: tuple[FileResult, ...],
) -> SignReport:
    identity, issuer = session.signed_as()
    options = request.trust
    image_commands = verify_commands(
        plan.targets,
        identity=identity,
        issuer=issuer,
        trust=options,
        recursive=request.recursive,
        insecure_registries=request.insecure_registries,
    )
    file_commands = blob_verify_commands(files, identity=identity, issuer=issuer, trust=options)
    return SignReport(
        images=plan.targets,
        results=results,
        identity=identity,
        issuer=issuer,
        trust_source=trust.source,
        public_log=options.trust_config is None and options.instance is Instance.PRODUCTION,
        services=session.stats(),
        certificate_requested=session.certified,
        verify_commands=image_commands + file_commands,
        verified=request.verify_after,
        files=files,
    )


def _identity(
    request: SignRequest, now: datetime
) -> tuple[IdentityToken, Callable[[], IdentityToken] | None]:
    """The first identity token, and how to get a fresh one when the certificate is renewed."""
    if request.identity_token is not None:
        # An explicit token cannot be renewed; the signer says so if it expires mid-run.
        return resolve_identity_token(request.identity_token, now=now), None
    source = request.identity_token_source
    if source is None:
        return resolve_identity_token(None, now=now), lambda: resolve_identity_token(
            None, now=datetime.now(timezone.utc)
        )

    def fetch(at: datetime) -> IdentityToken:
        return parse_identity_token(source(), now=at, source="identity token source")

    return fetch(now), lambda: fetch(datetime.now(timezone.utc))
