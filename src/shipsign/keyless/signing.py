"""Keyless signing for a whole run: one ephemeral key and one Fulcio certificate for every
artifact (renewed a minute before it expires), message signatures logged in Rekor v1 for the
legacy `.sig` format, and DSSE in-toto bundles. Encoding them for a registry is `formats/`' job.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sigstore.dsse import Statement
from sigstore.errors import Error as SigstoreError
from sigstore.hashes import Hashed
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.sign import Signer
from sigstore_models.common.v1 import HashAlgorithm

from shipsign.errors import InputError, ShipsignError
from shipsign.keyless.http import classify_failure
from shipsign.keyless.identity import IdentityToken
from shipsign.keyless.retrying import Service, ServiceCalls, ServiceStats, ServiceUnreachable
from shipsign.keyless.services import ServiceClients
from shipsign.keyless.sigstore_private import ExpiredCertificate
from shipsign.keyless.trust import Trust
from shipsign.legacy_signature import RekorBundle
from shipsign.retry import RetryPolicy
from shipsign.secret import Secret, redact

__all__ = ["RENEW_BEFORE", "KeylessSigner", "ServiceOptions", "SignedBlob", "SignedPayload"]

RENEW_BEFORE = timedelta(minutes=1)  # a certificate this close to expiry is replaced
_TOKEN_SLACK = timedelta(seconds=10)  # Fulcio must still accept the token when it gets it
T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceOptions:
    """How Fulcio, Rekor and the TSA are called: retries and (connect, read) timeouts."""

    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=5, base=0.5, cap=8.0, deadline=120.0)
    )
    timeout: tuple[float, float] = (5.0, 30.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedPayload:
    """A payload signed as a message signature and logged in Rekor v1 (hashedrekord 0.0.1).

    Everything cosign's legacy `.sig` annotations need (formats.md §1.4-1.5), and the full
    Sigstore bundle.
    """

    payload: bytes
    signature: bytes  # DER ECDSA P-256 over sha256(payload)
    certificate_pem: str  # the Fulcio leaf
    rekor: RekorBundle  # SET, body, integrated time, global log index, log ID (hex)
    rfc3161_timestamp: bytes | None  # DER TimeStampResp over the signature bytes, if a TSA gave one
    bundle_json: bytes  # application/vnd.dev.sigstore.bundle.v0.3+json


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedBlob:
    """A file's sha256 signed as a message signature and logged in Rekor v1 (hashedrekord).

    What `cosign sign-blob` writes: the v0.3 bundle (`--bundle`), the raw signature
    (`--output-signature` holds it base64-encoded) and the certificate (`--output-certificate`).
    """

    sha256: bytes  # the signed digest (32 bytes)
    signature: bytes  # DER ECDSA P-256 over the digest
    certificate_pem: str  # the Fulcio leaf, PEM
    log_index: int  # the global Rekor log index of the entry
    bundle_json: bytes  # application/vnd.dev.sigstore.bundle.v0.3+json


@dataclass(frozen=True, slots=True)
class _Issued:
    signer: Signer
    certificate: x509.Certificate


class KeylessSigner:
    """Sign payloads and in-toto statements with one ephemeral key and Fulcio certificate.

    Thread-safe: worker threads share one signer. The first signature requests the certificate
    (network); a new key and certificate are requested when it is within `RENEW_BEFORE` of
    expiring by `clock`, with a fresh token from `renew_identity` if the old one has expired.
    Fulcio, Rekor and TSA calls are retried per `options`; `stats()` counts them.
    """

    def __init__(
        self,
        trust: Trust,
        identity: IdentityToken,
        *,
        renew_identity: Callable[[], IdentityToken] | None = None,
        options: ServiceOptions | None = None,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        config = trust.client_config
        if config is None:
            raise InputError(
                "cannot sign with only a trusted root",
                where=trust.source,
                expected="a trust config with a signing config (Fulcio and Rekor URLs)",
                hint="pass --trust-config FILE, or use the production or staging instance",
            )
        options = options or ServiceOptions()
        self._calls = ServiceCalls(
            classify=classify_failure,
            policy=options.retry,
            sleep=sleep,
            monotonic=monotonic,
            clock=clock,
        )
        self._clients = ServiceClients(
            _with_rekor_v1(config), calls=self._calls, clock=clock, timeout=options.timeout
        )
        self._clock = clock
        self._renew_identity = renew_identity
        self._lock = threading.Lock()
        self._identity = identity  # guarded by _lock
        self._tokens: list[Secret] = [identity.token]  # guarded by _lock; scrubbed from errors
        self._issued: _Issued | None = None  # guarded by _lock

    @property
    def identity(self) -> IdentityToken:
        """The identity the current (or next) certificate is for."""
        with self._lock:
            return self._identity

    def certificate(self) -> x509.Certificate:
        """Return the current certificate, requesting one if there is none (network)."""
        return self._guarded(lambda: self._current(None).certificate)

    def sign_payload(self, payload: bytes) -> SignedPayload:
        """Sign `payload` (exact bytes) and log it in Rekor v1; return the legacy parts.

        Network: Fulcio (first use or renewal), the TSAs, Rekor. Raises `InputError` for a
        refused or expired token, `UnreachableError` when a service fails after retries.
        """
        bundle = self._guarded(lambda: self._sign(lambda s: s.sign_artifact(payload)))
        return _signed_payload(payload, bundle)

    def sign_digest(self, sha256: bytes) -> SignedBlob:
        """Sign a prehashed sha256 (a file streamed elsewhere) as a message signature, logged
        in Rekor v1 as a hashedrekord; return the bundle, the signature and the certificate.

        The same key and certificate as every other signature of this signer. Network and
        errors as `sign_payload`; `InputError` when `sha256` is not 32 bytes.
        """
        if len(sha256) != hashlib.sha256().digest_size:
            raise InputError(
                "a sha256 digest must be 32 bytes",
                expected="32 bytes",
                found=f"{len(sha256)} bytes",
            )
        hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=sha256)
        bundle = self._guarded(lambda: self._sign(lambda s: s.sign_artifact(hashed)))
        return _signed_blob(sha256, bundle)

    def sign_statement(self, statement: bytes) -> bytes:
        """Sign an in-toto v1 statement (exact bytes) as DSSE; return the bundle JSON.

        sigstore-python requires a `name` key on every subject. Network and errors as
        `sign_payload`.
        """
        try:
            parsed = Statement(statement)
        except SigstoreError as exc:
            raise InputError(
                "the in-toto statement cannot be signed",
                expected='an in-toto v1 statement whose every subject has a "name" key',
                found=str(exc).splitlines()[0][:300],
            ) from exc
        bundle = self._guarded(lambda: self._sign(lambda s: s.sign_dsse(parsed)))
        return bundle.to_json().encode()

    @property
    def certified(self) -> bool:
        """Whether a certificate has been requested and issued (no network)."""
        with self._lock:
            return self._issued is not None

    def stats(self) -> tuple[ServiceStats, ...]:
        """Calls, retries and failures so far, per service (Fulcio, Rekor, TSA)."""
        return self._calls.stats()

    def _sign(self, operation: Callable[[Signer], Bundle]) -> Bundle:
        issued = self._current(None)
        try:
            return operation(issued.signer)
        except ExpiredCertificate:
            # sigstore checks expiry with its own clock; if it disagrees with ours, renew once.
            issued = self._current(issued)
        try:
            return operation(issued.signer)
        except ExpiredCertificate as exc:
            raise _expired_on_arrival(issued.certificate, self._clock()) from exc

    def _current(self, stale: _Issued | None) -> _Issued:
        # Held across the Fulcio request on purpose: other threads need this certificate too.
        with self._lock:
            issued = self._issued
            if issued is None or issued is stale or self._expiring(issued.certificate):
                issued = self._issue()
                self._issued = issued
            return issued

    def _expiring(self, certificate: x509.Certificate) -> bool:
        return certificate.not_valid_after_utc - self._clock() <= RENEW_BEFORE

    def _issue(self) -> _Issued:  # called with _lock held
        if self._identity.expires - self._clock() <= _TOKEN_SLACK:
            if self._renew_identity is None:
                raise InputError(
                    "the identity token has expired and a new certificate is needed",
                    where=self._identity.source,
                    found=f"expired at {self._identity.expires.isoformat(timespec='seconds')}",
                    hint="request the token right before signing",
                )
            self._identity = self._renew_identity()
            self._tokens.append(self._identity.token)
        signer, certificate = self._clients.open_signer(self._identity.to_sigstore())
        return _Issued(signer=signer, certificate=certificate)

    def _guarded(self, operation: Callable[[], T]) -> T:
        """Run `operation`; keep every token this signer used out of what it raises."""
        try:
            return operation()
        except Exception as exc:
            with self._lock:
                tokens = [t.reveal() for t in self._tokens if t]
            _scrub(exc, tokens)
            raise


def _expired_on_arrival(certificate: x509.Certificate, now: datetime) -> InputError:
    """The error for a certificate that sigstore finds expired as soon as Fulcio issued it:
    this machine's clock and Fulcio's disagree by more than a certificate's lifetime."""

    def stamp(at: datetime) -> str:
        return at.isoformat(timespec="seconds")

    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    return InputError(
        "Fulcio's new certificate had already expired when it arrived",
        where="the signing certificate, checked by sigstore against this machine's clock",
        expected=f"a certificate valid now ({stamp(now)} by this machine's clock)",
        found=f"valid from {stamp(start)} to {stamp(end)}",
        hint="check this machine's clock (and its time zone): it is off by more than a "
        "certificate's lifetime; sync it (NTP) and sign again",
    )


def _with_rekor_v1(config: ClientTrustConfig) -> ClientTrustConfig:
    """The trust config with Rekor v1 forced: the legacy format needs its SET and time."""
    forced = copy.copy(config)  # shares the parsed document; only the public flag differs
    forced.force_tlog_version = 1
    return forced


def _scrub(exc: BaseException, tokens: Iterable[str]) -> None:
    """Take tokens out of a ShipsignError's fields; drop a cause chain that mentions one."""
    tokens = [t for t in tokens if t]

    def clean(text: str) -> str:
        return redact(text, tokens)

    if isinstance(exc, ShipsignError):
        for name in ("what", "where", "expected", "found", "hint"):
            setattr(exc, name, clean(getattr(exc, name)))
    exc.args = tuple(clean(a) if isinstance(a, str) else a for a in exc.args)
    chain: list[BaseException] = []
    link: BaseException | None = exc.__cause__ or exc.__context__
    while link is not None and link not in chain and len(chain) < 20:
        chain.append(link)
        link = link.__cause__ or link.__context__
    if any(clean(text) != text for e in chain for text in (str(e), repr(e))):
        exc.__cause__ = None
        exc.__context__ = None
        exc.__suppress_context__ = True


def _signed_payload(payload: bytes, bundle: Bundle) -> SignedPayload:
    """Read the legacy `.sig` parts out of a message-signature bundle (formats.md §5.4)."""
    raw = bundle.to_json()
    doc = json.loads(raw)
    material = doc["verificationMaterial"]
    entry = material["tlogEntries"][0]
    if entry["kindVersion"]["kind"] != "hashedrekord" or "inclusionPromise" not in entry:
        raise ServiceUnreachable(
            "the transparency log entry has no signed entry timestamp",
            service=Service.REKOR,
            status=None,
            attempts=1,
            expected="a Rekor v1 hashedrekord entry with an inclusion promise",
            found=f"{entry['kindVersion']['kind']} {entry['kindVersion']['version']}",
        )
    rekor = RekorBundle(
        signed_entry_timestamp=entry["inclusionPromise"]["signedEntryTimestamp"],
        body=entry["canonicalizedBody"],
        integrated_time=int(entry["integratedTime"]),
        log_index=int(entry["logIndex"]),  # global; inclusionProof.logIndex is the shard's
        log_id=base64.b64decode(entry["logId"]["keyId"]).hex(),
    )
    _check_logged_body(rekor.body, payload, bundle.signature)
    stamps = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps") or []
    return SignedPayload(
        payload=payload,
        signature=bundle.signature,
        certificate_pem=bundle.signing_certificate.public_bytes(Encoding.PEM).decode(),
        rekor=rekor,
        rfc3161_timestamp=base64.b64decode(stamps[0]["signedTimestamp"]) if stamps else None,
        bundle_json=raw.encode(),
    )


def _check_logged_body(body_b64: str, payload: bytes, signature: bytes) -> None:
    """Rekor must have logged this signature over sha256(payload): cosign compares both."""
    spec = json.loads(base64.b64decode(body_b64)).get("spec", {})
    logged_hash = spec.get("data", {}).get("hash", {}).get("value")
    logged_sig = spec.get("signature", {}).get("content")
    if (
        logged_hash != hashlib.sha256(payload).hexdigest()
        or logged_sig != base64.b64encode(signature).decode()
    ):
        raise ServiceUnreachable(
            "Rekor logged an entry that is not this signature",
            service=Service.REKOR,
            status=None,
            attempts=1,
            expected=f"sha256 {hashlib.sha256(payload).hexdigest()} and our signature",
            found=f"sha256 {logged_hash}",
        )


def _signed_blob(sha256: bytes, bundle: Bundle) -> SignedBlob:
    """The parts of a prehashed message-signature bundle, once Rekor's entry is checked to
    be this signature over this digest."""
    raw = bundle.to_json()
    entry = json.loads(raw)["verificationMaterial"]["tlogEntries"][0]
    if entry["kindVersion"]["kind"] != "hashedrekord":
        raise ServiceUnreachable(
            "the transparency log entry is not a hashedrekord",
            service=Service.REKOR,
            status=None,
            attempts=1,
            expected="a Rekor v1 hashedrekord entry",
            found=f"{entry['kindVersion']['kind']} {entry['kindVersion']['version']}",
        )
    _check_logged_digest(entry["canonicalizedBody"], sha256.hex(), bundle.signature)
    return SignedBlob(
        sha256=sha256,
        signature=bundle.signature,
        certificate_pem=bundle.signing_certificate.public_bytes(Encoding.PEM).decode(),
        log_index=int(entry["logIndex"]),
        bundle_json=raw.encode(),
    )


def _check_logged_digest(body_b64: str, hex_digest: str, signature: bytes) -> None:
    """Rekor must have logged this signature over this sha256."""
    spec = json.loads(base64.b64decode(body_b64)).get("spec", {})
    logged_hash = spec.get("data", {}).get("hash", {}).get("value")
    logged_sig = spec.get("signature", {}).get("content")
    if logged_hash != hex_digest or logged_sig != base64.b64encode(signature).decode():
        raise ServiceUnreachable(
            "Rekor logged an entry that is not this signature",
            service=Service.REKOR,
            status=None,
            attempts=1,
            expected=f"sha256 {hex_digest} and our signature",
            found=f"sha256 {logged_hash}",
        )
