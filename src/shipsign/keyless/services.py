"""sigstore-python's Fulcio, Rekor v1 and TSA clients, given timeouts, retries and counts.

`SigningContext(fulcio=, rekor=, trusted_root=, tsa_clients=)` is sigstore's public way to pick
the services, but it takes client types from sigstore's private modules, and those send each
request once (Fulcio's and Rekor's without a timeout). So we hand sigstore subclasses that send
the same requests through `ServiceCalls`, on `keyless.http` sessions. The private types, and
what we assume of them, come from `keyless.sigstore_private`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urljoin

from cryptography import x509
from rfc3161_client import TimeStampResponse
from sigstore.errors import Error as SigstoreError
from sigstore.errors import VerificationError
from sigstore.models import ClientTrustConfig, TransparencyLogEntry, TrustedRoot
from sigstore.oidc import ExpiredIdentity, IdentityToken
from sigstore.sign import Signer, SigningContext

from shipsign.errors import InputError
from shipsign.keyless.http import Sessions
from shipsign.keyless.retrying import (
    Refused,
    Service,
    ServiceCalls,
    ServiceUnreachable,
)
from shipsign.keyless.sigstore_private import (
    SIGNING_CERT_ENDPOINT,
    EntryRequestBody,
    FulcioCertificateSigningResponse,
    FulcioClient,
    FulcioClientError,
    FulcioSigningCert,
    RekorClient,
    RekorClientError,
    RekorEntries,
    RekorSubmitter,
    TimestampAuthorityClient,
    TimestampError,
    logged_body,
)

__all__ = ["ServiceClients"]

# What sigstore raises when an answer came but cannot be used (missing fields, bad JSON, an
# entry of another kind: `InvalidBundle`, one of sigstore's own `Error`s, ...).
_UNUSABLE = (FulcioClientError, RekorClientError, SigstoreError, ValueError, KeyError, TypeError)
_ENTRY_UUID = re.compile(r"(?<![0-9a-f])([0-9a-f]{80}|[0-9a-f]{64})(?![0-9a-f])")


def _unusable(service: Service, where: str, exc: Exception) -> ServiceUnreachable:
    return ServiceUnreachable(
        f"{service.value}'s answer cannot be used",
        service=service,
        status=None,
        attempts=1,
        where=where,
        found=f"{type(exc).__name__}: {str(exc)[:300]}",
        hint=f"check that the signing config points at a {service.value} server",
    )


class _Lifetime:
    """The certificate of one signing context: set once by its Fulcio call, then only read.

    Rekor and TSA calls must finish while it is valid: they get the time left as deadline.
    """

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.certificate: x509.Certificate | None = None

    def seconds_left(self) -> float | None:
        if self.certificate is None:
            return None
        return (self.certificate.not_valid_after_utc - self._clock()).total_seconds()


class _SigningCert(FulcioSigningCert):
    def __init__(self, url: str, sessions: Sessions, calls: ServiceCalls, life: _Lifetime):
        super().__init__(url, sessions.get())
        self._calls = calls
        self._life = life

    def post(
        self, req: x509.CertificateSigningRequest, identity: IdentityToken
    ) -> FulcioCertificateSigningResponse:
        where = f"POST {self.url}"
        try:
            got = self._calls.run(
                Service.FULCIO, where, lambda: FulcioSigningCert.post(self, req, identity)
            )
        except Refused as refused:
            if refused.failure.status in (400, 401, 403):
                raise InputError(
                    "Fulcio refused the identity token",
                    where=where,
                    expected="a certificate for the token's identity",
                    found=refused.failure.describe(),
                    hint="the token may have expired, be for another audience, or come from an "
                    "issuer this Fulcio does not accept; request it right before signing",
                ) from refused
            raise refused.error("Fulcio refused the certificate request") from refused
        except _UNUSABLE as exc:
            raise _unusable(Service.FULCIO, where, exc) from exc
        self._life.certificate = got.cert
        return got


class _Fulcio(FulcioClient):
    def __init__(self, url: str, sessions: Sessions, calls: ServiceCalls, life: _Lifetime):
        super().__init__(url)
        self._sessions = sessions
        self._calls = calls
        self._life = life

    @property
    def signing_cert(self) -> FulcioSigningCert:
        url = urljoin(self.url, SIGNING_CERT_ENDPOINT)  # as sigstore's FulcioClient does
        return _SigningCert(url, self._sessions, self._calls, self._life)


class _Rekor(RekorSubmitter):
    """Rekor v1 uploads; a 409 (an earlier try of this upload landed) reads that entry back."""

    def __init__(
        self, client: RekorClient, sessions: Sessions, calls: ServiceCalls, life: _Lifetime
    ):
        super().__init__(client)
        self._url = f"{client.url}/log/entries"
        self._sessions = sessions
        self._calls = calls
        self._life = life

    def create_entry(self, request: EntryRequestBody) -> TransparencyLogEntry:
        entries = RekorEntries(self._url, session=self._sessions.get())
        where = f"POST {self._url}"
        try:
            return self._calls.run(
                Service.REKOR,
                where,
                lambda: entries.post(request),
                deadline=self._life.seconds_left(),
            )
        except Refused as refused:
            if refused.failure.status != 409:
                raise refused.error("Rekor refused the entry") from refused
            conflict = refused
        except _UNUSABLE as exc:
            raise _unusable(Service.REKOR, where, exc) from exc
        return self._recover(request, entries, conflict)

    def _recover(
        self, request: EntryRequestBody, entries: RekorEntries, conflict: Refused
    ) -> TransparencyLogEntry:
        found = _ENTRY_UUID.search(f"{conflict.failure.location or ''} {conflict.failure.message}")
        if found is None:
            raise conflict.error("Rekor has this entry already but does not say where")
        uuid = found.group(1)
        where = f"GET {self._url}/{uuid}"
        try:
            entry = self._calls.run(
                Service.REKOR,
                where,
                lambda: entries.get(uuid=uuid),
                deadline=self._life.seconds_left(),
            )
        except Refused as refused:
            raise refused.error("cannot read back the entry Rekor has already") from refused
        except _UNUSABLE as exc:
            raise _unusable(Service.REKOR, where, exc) from exc
        if not _same_entry(request, logged_body(entry)):
            raise ServiceUnreachable(
                "Rekor's existing entry is not this signature",
                service=Service.REKOR,
                status=409,
                attempts=conflict.attempts,
                where=where,
                expected="the entry we uploaded (same signature)",
                found="another entry",
            )
        self._calls.record_recovered(Service.REKOR)
        return entry


def _same_entry(request: EntryRequestBody, body: bytes) -> bool:
    """Whether a logged body holds the signature we proposed (ECDSA signatures never repeat)."""
    try:
        spec, logged = request["spec"], json.loads(body)["spec"]
        if request.get("kind") == "hashedrekord":
            return bool(
                spec["signature"]["content"] == logged["signature"]["content"]
                and spec["data"]["hash"] == logged["data"]["hash"]
            )
        envelope = json.loads(spec["proposedContent"]["envelope"])
        ours = {s["sig"] for s in envelope["signatures"]}
        theirs = {s["signature"] for s in logged["signatures"]}
        payload_hash = hashlib.sha256(base64.b64decode(envelope["payload"])).hexdigest()
        return bool(ours <= theirs and logged["payloadHash"]["value"] == payload_hash)
    except (KeyError, TypeError, ValueError):
        return False


class _Tsa(TimestampAuthorityClient):
    def __init__(self, url: str, calls: ServiceCalls, life: _Lifetime) -> None:
        super().__init__(url)
        self._calls = calls
        self._life = life

    def request_timestamp(self, signature: bytes) -> TimeStampResponse:
        ask = super().request_timestamp
        try:
            return self._calls.run(
                Service.TSA,
                f"POST {self.url}",
                lambda: ask(signature),
                deadline=self._life.seconds_left(),
            )
        except (Refused, ServiceUnreachable) as exc:
            # sigstore signs on without a TSA that fails (Signer._finalize_sign); the Rekor v1
            # SET still proves the time. The count in ServiceCalls tells the report.
            raise TimestampError(str(exc)) from exc


class ServiceClients:
    """The Fulcio, Rekor v1 and TSAs of one signing config, called through `calls`."""

    def __init__(
        self,
        config: ClientTrustConfig,
        *,
        calls: ServiceCalls,
        clock: Callable[[], datetime],
        timeout: tuple[float, float],
    ) -> None:
        try:
            signing_config = config.signing_config
        except SigstoreError as exc:
            raise InputError(
                "the signing config cannot be used to sign",
                expected="a Fulcio and a Rekor with majorApiVersion 1 (the legacy .sig format "
                "needs Rekor v1's signed entry timestamp)",
                found=str(exc)[:300],
            ) from exc
        rekor = signing_config.get_tlogs()[0]
        if not isinstance(rekor, RekorClient):
            raise InputError(
                "the signing config's transparency log is not Rekor v1",
                expected="a Rekor with majorApiVersion 1 (the legacy .sig format needs its SET)",
                found=type(rekor).__name__,
            )
        self._fulcio_url = signing_config.get_fulcio().url
        self._rekor = rekor
        self._tsa_urls = [tsa.url for tsa in signing_config.get_tsas()]
        self._trusted_root: TrustedRoot = config.trusted_root
        self._calls = calls
        self._clock = clock
        self._sessions = Sessions(timeout)

    def open_signer(self, token: IdentityToken) -> tuple[Signer, x509.Certificate]:
        """Make a new ephemeral key and get its certificate from Fulcio (network)."""
        life = _Lifetime(self._clock)
        context = SigningContext(
            fulcio=_Fulcio(self._fulcio_url, self._sessions, self._calls, life),
            rekor=_Rekor(self._rekor, self._sessions, self._calls, life),
            trusted_root=self._trusted_root,
            tsa_clients=[_Tsa(url, self._calls, life) for url in self._tsa_urls],
        )
        try:
            signer = Signer(token, context, cache=True)
        except ExpiredIdentity as exc:
            raise InputError(
                "the identity token has expired", hint="request it right before signing"
            ) from exc
        except VerificationError as exc:
            raise InputError(
                "Fulcio's certificate is not logged by a CT log of the trusted root",
                where=self._fulcio_url,
                found=str(exc)[:300],
                hint="the trust config's trusted root does not belong to this Fulcio",
            ) from exc
        if life.certificate is None:  # Signer(cache=True) always asks Fulcio
            raise RuntimeError("sigstore's Signer did not request a certificate")
        return signer, life.certificate
