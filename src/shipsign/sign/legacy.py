"""Write cosign's legacy signature: the layer annotations for a signed simple-signing payload
(formats.md §1.4-1.5) and its append to the `sha256-<hex>.sig` manifest (§1.6-1.7).

The `.sig` tag is a read-modify-write without locks (cosign's "racy" multiple signatures). We
keep every layer we find, write once (`If-Match` when the registry gave an ETag) on a base at
most `WRITE_WINDOW` old, then re-read after a settle time of a few write cycles to confirm our
layer is still there; on a lost update we merge again on top of what is there now and retry.
The read may be the one that looked for an existing signature while it is fresh
(`SigRead.fresh`); the settle time allows for that (`oci.shared_tag`, the same protocol as
the referrers fallback index).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from shipsign.errors import InputError, RegistryError, ShipsignError
from shipsign.formats.legacy_sig import SIGNATURE_ANNOTATION
from shipsign.formats.sig_manifest import SignatureImage, build_signature_image
from shipsign.keyless.signing import SignedPayload
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.legacy_signature import LegacySignature
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Index, Manifest
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.shared_tag import WRITE_WINDOW, Clock, WriteRounds, confirm_writes, settle_time
from shipsign.sign.existing import SigRead, fetch_sig, signature_tag

__all__ = [
    "SigPending",
    "SigWritten",
    "append_signature",
    "chain_pem",
    "confirm_signatures",
    "legacy_signature",
]

_log = logging.getLogger(__name__)
_CONFLICTS = 5  # 412 answers (or bases changed before our PUT) to one append before we give up
_CONFIG_MAX = 4 * 1024 * 1024


def chain_pem(trust: TrustMaterial, leaf_pem: str, at: datetime) -> str:
    """The Fulcio intermediates and root (PEM, root last) that issued `leaf_pem`, valid at `at`.

    From the trusted root, as cosign v2 filled `dev.sigstore.cosign/chain` from Fulcio; "" when
    no CA of the trusted root matches (cosign v3 writes "" and verifiers use the trusted root).
    """
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode())
    for authority in trust.fulcio:
        first = authority.certificates[0]
        if authority.validity.covers(at) and first.subject == leaf.issuer:
            return "".join(c.public_bytes(Encoding.PEM).decode() for c in authority.certificates)
    return ""


def legacy_signature(signed: SignedPayload, trust: TrustMaterial) -> LegacySignature:
    """The `.sig` layer for a payload signed and logged in Rekor v1.

    The layer carries no RFC 3161 timestamp, even when the TSA gave one: cosign writes that
    annotation only when asked (`--timestamp-server-url`), and cosign before v2.6 (so Flux
    before 2.8) refuses a layer that has one unless its user passes TSA roots on every verify
    ("no TSA root certificate(s) provided"). The signing time stays Rekor's integrated time.
    """
    at = datetime.fromtimestamp(signed.rekor.integrated_time, tz=timezone.utc)
    return LegacySignature(
        payload=signed.payload,
        claims=None,  # encoding needs only the bytes
        signature=base64.b64encode(signed.signature).decode(),
        certificate=signed.certificate_pem,
        chain=chain_pem(trust, signed.certificate_pem, at),
        rekor=signed.rekor,
        rfc3161_timestamp=None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SigWritten:
    """Our layer is in the `.sig` manifest `manifest` (as last read), after `attempts` writes."""

    manifest: Digest
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SigPending:
    """A layer written to (or found in) a `.sig` manifest, to be confirmed from `ready_at`."""

    client: RegistryClient
    repo: Repository
    digest: Digest
    signature: LegacySignature
    ready_at: float  # the writer's clock after which a confirming read proves the write held
    attempts: int
    sleep: Callable[[float], None] = time.sleep
    clock: Clock = time.monotonic

    @property
    def ref(self) -> Reference:
        return Reference(repository=self.repo, tag=signature_tag(self.digest))

    @property
    def where(self) -> str:
        return str(self.ref)


def append_signature(
    client: RegistryClient,
    repo: Repository,
    digest: Digest,
    signature: LegacySignature,
    *,
    read: SigRead | None = None,
    attempts: int = 0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Clock = time.monotonic,
) -> SigPending:
    """Append `signature` to `digest`'s `.sig` manifest in `repo`, keeping every other layer.

    One read-merge-write, merging into `read` when it is still fresh, else into a new read.
    The manifest PUT is a single attempt on a base read at most `WRITE_WINDOW` before it
    (`If-Match` when the registry gave an ETag); a 412 or a transient failure repeats the
    whole cycle (`WriteRounds`). The write holds only once `confirm_signatures` has read it
    back after the settle time. Network. Raises `InputError` when the tag holds something
    we must not replace (an index, or 1000 layers), and `RegistryError` when the registry fails.
    """
    ref = Reference(repository=repo, tag=signature_tag(digest))
    if attempts == 0:
        # The payload is new unless a run wrote these exact claims before: no HEAD first.
        client.push_blob(repo, signature.payload, check_first=False)
    rounds = WriteRounds(client, repo, signature_tag(digest), conflicts=_CONFLICTS, clock=clock)
    current = read if read is not None and read.fresh(clock()) else None
    started = clock()  # when the base was taken: the start of this write's cycle
    while True:
        if current is None:
            current = fetch_sig(client, repo, digest, clock=clock)
            started = current.read_at
        image, current, started = _prepare(
            client, ref, digest, current, started, signature, rounds, clock
        )
        if image is not None and not rounds.put(image.manifest, if_match=current.etag, sleep=sleep):
            current = None
            continue
        # A writer who read before our write has written within its cycle; if that dropped
        # our layer, a read after then shows it.
        return SigPending(
            client=client,
            repo=repo,
            digest=digest,
            signature=signature,
            ready_at=clock() + settle_time(clock() - started),
            attempts=attempts + 1,
            sleep=sleep,
            clock=clock,
        )


def _prepare(
    client: RegistryClient,
    ref: Reference,
    digest: Digest,
    current: SigRead,
    started: float,
    signature: LegacySignature,
    rounds: WriteRounds,
    clock: Clock,
) -> tuple[SignatureImage | None, SigRead, float]:
    """The `.sig` image to PUT (None: `current` has our layer), the read it is built on, and
    when that base was taken. Its config blob is uploaded already.

    Fetching and uploading the config may have been slowed (retries, `Retry-After`): when the
    base is older than the write window by then, it is read again, and the image rebuilt if
    other writers changed it meanwhile: they may have confirmed layers a PUT would drop.
    """
    while True:
        base = _base(current.manifest, ref)
        if base is not None and _has(base, signature):
            return None, current, started
        image = _build(client, ref, base, signature)
        if clock() - current.read_at <= WRITE_WINDOW:
            return image, current, started
        _log.debug("%s: base is stale; reading it again", ref)
        again = fetch_sig(client, ref.repository, digest, clock=clock)
        if _manifest_digest(again) == _manifest_digest(current):
            return image, again, again.read_at  # unchanged: a fresh base, and its ETag
        rounds.rebase()
        current, started = again, again.read_at


def confirm_signatures(
    pending: Sequence[SigPending],
    *,
    workers: ThreadPoolExecutor,
    attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
    clock: Clock = time.monotonic,
) -> list[SigWritten | ShipsignError]:
    """Read every pending layer back once its settle time has passed; merge again what a
    concurrent writer dropped, until each holds or `attempts` writes were made. In order;
    `clock` must be the one the writes used.

    Confirming after one wait for the whole batch keeps the settle time off the workers.
    """
    return confirm_writes(
        pending,
        confirm=_confirm,
        write_again=_write_again,
        gave_up=_gave_up,
        workers=workers,
        attempts=attempts,
        sleep=sleep,
        clock=clock,
    )


def _confirm(item: SigPending) -> SigWritten | ShipsignError | None:
    try:
        found = item.client.fetch_manifest(item.ref)
    except ShipsignError as exc:
        return exc
    if isinstance(found, Manifest) and _has(found, item.signature):
        return SigWritten(manifest=found.digest, attempts=item.attempts)
    return None


def _write_again(item: SigPending) -> SigPending:
    return append_signature(
        item.client,
        item.repo,
        item.digest,
        item.signature,
        attempts=item.attempts,
        sleep=item.sleep,
        clock=item.clock,
    )


def _gave_up(item: SigPending) -> RegistryError:
    return RegistryError(
        f"cannot add a signature to {item.ref}: other writers kept replacing it "
        f"({item.attempts} attempts)",
        registry=item.repo.registry,
        repository=item.repo.name,
        operation="push signature",
        hint="too many concurrent signers; run again (signatures already there are kept)",
    )


def _base(current: Manifest | Index | None, ref: Reference) -> Manifest | None:
    if isinstance(current, Index):
        raise InputError(
            f"{ref} holds an image index, not a signature manifest",
            where=str(ref),
            expected="an image manifest with one layer per signature",
            found=current.media_type,
            hint="something other than cosign wrote this tag; it is left as it is",
        )
    return current


def _build(
    client: RegistryClient,
    ref: Reference,
    base: Manifest | None,
    signature: LegacySignature,
) -> SignatureImage:
    repo = ref.repository
    config = None
    if base is not None:
        config = client.fetch_blob(repo, base.config.digest, max_bytes=_CONFIG_MAX)
        if config is None:
            raise InputError(
                f"the config blob of {ref} is missing",
                where=f"{repo.name}@{base.config.digest}",
                expected="the .sig image's config blob",
                found="404",
            )
    image = build_signature_image([signature], base=base, base_config=config)
    # The payload is up already (`append_signature`); the config lists every layer's digest,
    # ours included, so it is new too (and storing the same bytes again would be harmless).
    client.push_blob(repo, image.config, check_first=False)
    return image


def _manifest_digest(read: SigRead) -> Digest | None:
    return read.manifest.digest if read.manifest is not None else None


def _has(manifest: Manifest, signature: LegacySignature) -> bool:
    # An ECDSA signature never repeats: the annotation names our layer, whoever merged it.
    return any(
        layer.annotations.get(SIGNATURE_ANNOTATION) == signature.signature
        for layer in manifest.layers
    )
