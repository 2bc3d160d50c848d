"""The bundle format as a `SignatureStrategy`: cosign's sign statement, which names no
repository, signed once per digest as a DSSE bundle and published as an OCI referrer at every
location.

The look reads the digest's referrers; in the fallback index, while that read is fresh it is
the base of the merge (`oci.referrers.write_referrer`). The merges are confirmed in one batch
for the whole run (`oci.referrers.confirm_referrers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shipsign.checks import SignatureFormat
from shipsign.errors import ShipsignError
from shipsign.formats.bundle_ref import build_bundle_artifact
from shipsign.keyless.session import SigningSession
from shipsign.oci.client import Registries
from shipsign.oci.media import referrer_descriptor
from shipsign.oci.reference import Digest
from shipsign.oci.referrers import (
    PendingReferrer,
    ReferrersResult,
    ReferrersSource,
    confirm_referrers,
    fetch_referrers,
    write_referrer,
)
from shipsign.sign.bundle import KnownBlobs, push_bundle
from shipsign.sign.existing import Existing, Mine, find_bundle
from shipsign.sign.model import SignResult, SignStatus
from shipsign.sign.plan import Artifact
from shipsign.sign.statement import build_statement, bundle_log_index
from shipsign.sign.strategy import Target, failed, result

__all__ = ["BundleStrategy", "SignedBundle"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedBundle:
    """One digest's signed statement: the Sigstore bundle, for every location."""

    artifact: Artifact
    bundle_json: bytes

    @property
    def log_index(self) -> int | None:
        return bundle_log_index(self.bundle_json)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Listed:
    target: Target
    write: PendingReferrer
    log_index: int | None
    manifest: Digest  # the referrer manifest


class BundleStrategy:
    """Sigstore bundles as OCI referrers, one signature per digest (`SignatureStrategy`)."""

    format = SignatureFormat.BUNDLE
    names_location = False  # the statement's subject has no name: one bundle fits every copy

    def __init__(self, session: SigningSession, registries: Registries, mine: Mine) -> None:
        self._session = session
        self._registries = registries
        self._mine = mine
        self._known = KnownBlobs()  # the empty config, once per repository

    def statement(self, artifact: Artifact) -> bytes:
        """The in-toto statement signed for `artifact`: its digest, our annotations."""
        return build_statement(artifact.digest, self._mine.annotations)

    def look(self, target: Target) -> Existing | ReferrersResult:
        client = self._registries.client(target.repo.registry)
        digest = target.artifact.digest
        listed = fetch_referrers(client, target.repo, digest)
        found = find_bundle(client, target.repo, digest, self._mine, listed)
        return listed if found is None else found

    def sign(self, targets: Sequence[Target]) -> SignedBundle:
        artifact = targets[0].artifact
        bundle_json = self._session.sign_statement(self.statement(artifact))
        return SignedBundle(artifact=artifact, bundle_json=bundle_json)

    def write(
        self, signed: SignedBundle, todo: Sequence[tuple[Target, ReferrersResult | None]]
    ) -> list[SignResult | _Listed]:
        """Push the bundle everywhere, then list it: each index merge comes as soon after its
        read as it can, so that the read is more often fresh enough to be the base."""
        built = build_bundle_artifact(
            signed.bundle_json, subject=signed.artifact.descriptor, created=self._session.now
        )
        log_index = signed.log_index
        out: list[SignResult | _Listed] = []
        pushed: list[tuple[Target, ReferrersResult | None]] = []
        for target, listed in todo:
            client = self._registries.client(target.repo.registry)
            try:
                push_bundle(client, target.repo, built, known=self._known)
            except ShipsignError as exc:
                note = "signed, but not written"
                out.append(failed(target, exc, note=note, log_index=log_index))
            else:
                pushed.append((target, listed))
        manifest = built.manifest.digest
        entry = referrer_descriptor(built.manifest)
        for target, listed in pushed:
            client = self._registries.client(target.repo.registry)
            subject = target.artifact.digest
            try:
                written = write_referrer(client, target.repo, subject, entry, listed=listed)
            except ShipsignError as exc:
                note = "signed and pushed, but not listed"
                out.append(failed(target, exc, note=note, log_index=log_index))
                continue
            if isinstance(written, PendingReferrer):
                out.append(
                    _Listed(target=target, write=written, log_index=log_index, manifest=manifest)
                )
            else:
                out.append(_listed(target, written, manifest=manifest, log_index=log_index))
        return out

    def confirm(
        self, pending: Sequence[_Listed], *, workers: ThreadPoolExecutor
    ) -> list[SignResult]:
        listed = confirm_referrers([p.write for p in pending], workers=workers)
        return [
            failed(p.target, outcome, note="signed, but not written", log_index=p.log_index)
            if isinstance(outcome, ShipsignError)
            else _listed(p.target, outcome, manifest=p.manifest, log_index=p.log_index)
            for p, outcome in zip(pending, listed, strict=True)
        ]


def _listed(
    target: Target, source: ReferrersSource, *, manifest: Digest, log_index: int | None
) -> SignResult:
    return result(
        target,
        SignStatus.SIGNED,
        manifest=manifest,
        log_index=log_index,
        referrers=source.value,
    )
