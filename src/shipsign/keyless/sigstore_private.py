"""sigstore-python's private API: the one module that imports `sigstore._internal` or reads a
private attribute of a sigstore object. Everything else uses what this module exports.

Why we need it: `SigningContext(fulcio=, rekor=, trusted_root=, tsa_clients=)` is sigstore's
public way to choose the services, but it takes client types from `sigstore._internal`, which
send each request once (Fulcio's and Rekor's without a timeout); `keyless.services` hands it
subclasses that send the same requests with timeouts and retries. And sigstore offers no public
way to read a trusted root's JSON (log-key validity periods, which cosign checks) or a log
entry's body.

Assumptions, for sigstore `SUPPORTED` (tests/unit/keyless/test_sigstore_private.py checks
each one by name, and that pyproject.toml pins the same range):

1. fulcio-client: `FulcioClient(url)` has `url` and a `signing_cert` property; sigstore's
   `Signer` reads its certificate through `signing_cert.post(csr, token)`.
2. fulcio-signing-cert: `FulcioSigningCert(url, session)` has `url` and
   `post(req, identity) -> FulcioCertificateSigningResponse` (whose `cert` is the leaf), and
   `SIGNING_CERT_ENDPOINT` is the path below Fulcio's URL it posts to.
3. fulcio-errors: `FulcioClientError` (a bad answer) and `ExpiredCertificate` (raised by
   `Signer` when its certificate has expired) exist.
4. rekor-submitter: `RekorLogSubmitter` is the abstract type `SigningContext` takes as `rekor`,
   with `create_entry(request) -> TransparencyLogEntry` and the request builders
   `_build_hashed_rekord_request(hashed, signature, certificate)` and
   `_build_dsse_request(envelope, certificate)`; `RekorClient` implements them, has `url`,
   and is what `SigningConfig.get_tlogs()` returns for a Rekor v1.
5. rekor-entries: `RekorEntries(url, session)` has `post(request)` and `get(uuid=)`, each
   returning a `TransparencyLogEntry`; `RekorClientError` is what they raise on a bad answer;
   `EntryRequestBody` is the request type.
6. tsa-client: `TimestampAuthorityClient(url)` has `url` and `request_timestamp(signature)`;
   `Signer` logs a `TimestampError` from it and signs on without that timestamp.
7. log-entry-body: `TransparencyLogEntry._inner.canonicalized_body` is the logged body (bytes).
8. trusted-root-json: `TrustedRoot._inner.to_json()` is the trusted root as JSON.
"""

from __future__ import annotations

from abc import abstractmethod

from cryptography import x509
from sigstore._internal.fulcio.client import (
    SIGNING_CERT_ENDPOINT,
    ExpiredCertificate,
    FulcioCertificateSigningResponse,
    FulcioClient,
    FulcioClientError,
    FulcioSigningCert,
)
from sigstore._internal.rekor import EntryRequestBody, RekorClientError, RekorLogSubmitter
from sigstore._internal.rekor.client import RekorClient, RekorEntries
from sigstore._internal.timestamp import TimestampAuthorityClient, TimestampError
from sigstore.dsse import Envelope
from sigstore.hashes import Hashed
from sigstore.models import TransparencyLogEntry, TrustedRoot

__all__ = [
    "SIGNING_CERT_ENDPOINT",
    "SUPPORTED",
    "EntryRequestBody",
    "ExpiredCertificate",
    "FulcioCertificateSigningResponse",
    "FulcioClient",
    "FulcioClientError",
    "FulcioSigningCert",
    "RekorClient",
    "RekorClientError",
    "RekorEntries",
    "RekorSubmitter",
    "TimestampAuthorityClient",
    "TimestampError",
    "logged_body",
    "trusted_root_json",
]

# The sigstore versions whose private API this module was checked against; pyproject.toml's
# dependency must say the same (a test holds them together).
SUPPORTED = ">=4.5,<5"


class RekorSubmitter(RekorLogSubmitter):
    """A Rekor v1 submitter whose uploads are ours (`create_entry`) and whose request bodies
    are built by sigstore's own `RekorClient` (assumption 4)."""

    def __init__(self, client: RekorClient) -> None:
        self.client = client

    @abstractmethod
    def create_entry(self, request: EntryRequestBody) -> TransparencyLogEntry:
        """Upload `request` to the log; the entry as logged."""

    def _build_hashed_rekord_request(  # type: ignore[override]  # as RekorClient does
        self, hashed_input: Hashed, signature: bytes, certificate: x509.Certificate
    ) -> EntryRequestBody:
        return self.client._build_hashed_rekord_request(hashed_input, signature, certificate)

    def _build_dsse_request(  # type: ignore[override]  # as RekorClient does
        self, envelope: Envelope, certificate: x509.Certificate
    ) -> EntryRequestBody:
        return self.client._build_dsse_request(envelope, certificate)


def logged_body(entry: TransparencyLogEntry) -> bytes:
    """The canonicalized body Rekor logged for `entry` (assumption 7)."""
    body: bytes = entry._inner.canonicalized_body
    return body


def trusted_root_json(root: TrustedRoot) -> bytes:
    """`root` as trusted_root.json (assumption 8)."""
    return root._inner.to_json().encode()
