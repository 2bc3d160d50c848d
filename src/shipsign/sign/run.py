"""Use case: sign images keylessly and publish cosign-compatible signatures next to every copy.

Resolve every input to a digest, group copies of one digest, skip what this identity already
signed, get one certificate for the whole run, then sign and write concurrently (bounded pool,
`work.py`): one DSSE bundle per digest pushed to every location, one legacy `.sig` layer per
location. A failed (digest, location, format) is a result, never a reason to stop the others.
Last, with `tags`, the tags move, only when everything was signed and verified (`tags.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

from shipsign.errors import InputError
from shipsign.keyless.identity import (
    IdentityToken,
    parse_identity_token,
    resolve_identity_token,
)
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import Instance, Trust, load_trust
from shipsign.keyless.trust_material import load_trust_material
from shipsign.oci.client import Registries
from shipsign.oci.reference import Reference
from shipsign.sign.consumer import verify_commands
from shipsign.sign.model import SignReport, SignRequest, SignResult
from shipsign.sign.plan import Plan, build_plan
from shipsign.sign.readback import read_back
from shipsign.sign.tags import TagResult, hold_tags, move_tags, tag_targets
from shipsign.sign.work import SigningRun

__all__ = ["sign_images"]


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
    token, renew = _identity(request, start)  # first: no token is the commonest mistake
    trust = load_trust(replace(request.trust, force_rekor_v1=True))  # the legacy format's SET
    signer = KeylessSigner(trust, token, renew_identity=renew)
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
        material = load_trust_material(trust.trusted_root)
        run = SigningRun(
            request, pool=pool, signer=signer, material=material, token=token, now=start
        )
        results = run.execute(plan)
        identity, issuer = run.who()
        if request.verify_after and results:
            results = read_back(
                results,
                identity=identity,
                issuer=issuer,
                trust=replace(material, source=trust.source),  # the run's, loaded once
                registries=pool,
                now=now,
            )
        tags: tuple[TagResult, ...] = ()
        if to_tag:
            everywhere = all(r.ok for r in results) and all(t.error is None for t in plan.targets)
            tags = move_tags(pool, to_tag) if everywhere and results else hold_tags(to_tag)
    finally:
        if own:
            pool.close()
    report = _report(
        request, plan, results, who=run.who(), trust=trust, signer=signer, certified=run.certified
    )
    return replace(report, tags=tags)


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
