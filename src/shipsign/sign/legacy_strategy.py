"""The legacy format as a `SignatureStrategy`: a simple-signing payload that names the
repository, signed once per location and appended as a layer of that location's `.sig` tag.

The look reads the `.sig` tag; while that read is fresh it is the base of the append, which
then needs no read of its own (`legacy.append_signature`). The append is confirmed in one
batch for the whole run (`legacy.confirm_signatures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shipsign.checks import SignatureFormat
from shipsign.errors import ShipsignError
from shipsign.formats.legacy_sig import build_payload
from shipsign.keyless.session import SigningSession
from shipsign.legacy_signature import LegacySignature
from shipsign.oci.client import Registries
from shipsign.sign.existing import Existing, Mine, SigRead, fetch_sig, find_legacy
from shipsign.sign.legacy import SigPending, SigWritten, append_signature, confirm_signatures
from shipsign.sign.legacy import legacy_signature as legacy_layer
from shipsign.sign.model import SignResult, SignStatus
from shipsign.sign.strategy import Target, failed, result

__all__ = ["LegacyStrategy", "SignedLayer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedLayer:
    """One location's signed payload, as the `.sig` layer it becomes."""

    signature: LegacySignature
    log_index: int  # its Rekor entry


@dataclass(frozen=True, slots=True, kw_only=True)
class _Appended:
    target: Target
    write: SigPending
    log_index: int


class LegacyStrategy:
    """Cosign's `.sig` layers, one signature per location (`SignatureStrategy`)."""

    format = SignatureFormat.LEGACY
    names_location = True  # the payload's docker-reference is the repository

    def __init__(self, session: SigningSession, registries: Registries, mine: Mine) -> None:
        self._session = session
        self._registries = registries
        self._mine = mine

    def payload(self, target: Target) -> bytes:
        """The simple-signing payload signed for `target`: its repository and digest, and our
        annotations as cosign's `optional`."""
        return build_payload(
            docker_reference=target.repo.name,
            docker_manifest_digest=str(target.artifact.digest),
            optional=self._mine.annotations or None,
        )

    def look(self, target: Target) -> Existing | SigRead:
        client = self._registries.client(target.repo.registry)
        digest = target.artifact.digest
        read = fetch_sig(client, target.repo, digest)
        found = find_legacy(client, target.repo, digest, self._mine, read)
        return read if found is None else found

    def sign(self, targets: Sequence[Target]) -> SignedLayer:
        [target] = targets  # the payload names the location: one each
        signed = self._session.sign_payload(self.payload(target))
        signature = legacy_layer(signed, self._session.material)
        return SignedLayer(signature=signature, log_index=signed.rekor.log_index)

    def write(
        self, signed: SignedLayer, todo: Sequence[tuple[Target, SigRead | None]]
    ) -> list[SignResult | _Appended]:
        out: list[SignResult | _Appended] = []
        for target, read in todo:
            client = self._registries.client(target.repo.registry)
            try:
                sig = append_signature(
                    client, target.repo, target.artifact.digest, signed.signature, read=read
                )
            except ShipsignError as exc:
                note = "signed, but not written"
                out.append(failed(target, exc, note=note, log_index=signed.log_index))
            else:
                out.append(_Appended(target=target, write=sig, log_index=signed.log_index))
        return out

    def confirm(
        self, pending: Sequence[_Appended], *, workers: ThreadPoolExecutor
    ) -> list[SignResult]:
        held = confirm_signatures([p.write for p in pending], workers=workers)
        return [_confirmed(p, outcome) for p, outcome in zip(pending, held, strict=True)]


def _confirmed(item: _Appended, outcome: SigWritten | ShipsignError) -> SignResult:
    if isinstance(outcome, ShipsignError):
        return failed(
            item.target, outcome, note="signed, but not written", log_index=item.log_index
        )
    note = (
        ""
        if outcome.attempts == 1
        else f"merged with a concurrent writer's signatures ({outcome.attempts} attempts)"
    )
    return result(
        item.target,
        SignStatus.SIGNED,
        manifest=outcome.manifest,
        log_index=item.log_index,
        note=note,
    )
