"""One signing run's session: the signer (one ephemeral key and one Fulcio certificate, with
its Rekor and TSA clients), the trust material the run checks signatures with, whom it signs
as and when it started.

Images (`shipsign.sign`) and files (`shipsign.blobs`) both sign through the session, which is
why it lives in this layer, below both. Everything a run signs carries its one certificate.
The first caller with something to sign requests it (`certify`); a refusal is kept and raised
to every later caller, so a refused token costs Fulcio one request however much was due.
"""

from __future__ import annotations

import threading
from datetime import datetime

from shipsign.errors import ShipsignError
from shipsign.keyless.fulcio_identity import certificate_issuer, subject_alternative_names
from shipsign.keyless.identity import IdentityToken
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.retrying import ServiceStats
from shipsign.keyless.signing import KeylessSigner, SignedBlob, SignedPayload
from shipsign.keyless.trust_material import TrustMaterial

__all__ = ["SigningSession"]


class SigningSession:
    """A run's signer, trust material, identity and start time. Thread-safe.

    `identity` and `issuer` are the first identity token's claims: what a signature already in
    place must name to count as ours. `signed_as()` is what the certificate says, once there
    is one. `now` is the run's clock reading: existing signatures are checked at that time,
    and new bundle artifacts are stamped with it.
    """

    def __init__(
        self,
        signer: KeylessSigner,
        *,
        material: TrustMaterial,
        token: IdentityToken,
        now: datetime,
    ) -> None:
        self._signer = signer
        self._material = material
        self._identity = token.identity
        self._issuer = token.issuer
        self._now = now
        self._lock = threading.Lock()
        self._ready = False  # guarded by _lock: `certify` succeeded
        self._refused: ShipsignError | None = None  # guarded by _lock

    @property
    def material(self) -> TrustMaterial:
        return self._material

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def claimed(self) -> IdentityPolicy:
        """Exactly the identity and issuer the token claims."""
        return IdentityPolicy.exact(identity=self._identity, issuer=self._issuer)

    def certify(self) -> None:
        """Have the run's certificate before the first signature (network, once).

        Raises what Fulcio answered, to this caller and every later one: without a certificate
        nothing can be signed, so the run stops.
        """
        with self._lock:  # held across the Fulcio call: every other caller needs its answer
            if self._refused is not None:
                raise self._refused
            if self._ready:
                return
            try:
                self._signer.certificate()
            except ShipsignError as exc:
                self._refused = exc
                raise
            self._ready = True

    @property
    def certified(self) -> bool:
        """Whether a certificate was issued (something was to be signed). No network."""
        return self._signer.certified

    def signed_as(self) -> tuple[str, str]:
        """The identity and issuer signed as: the certificate's, else the token's claims."""
        if not self._signer.certified:
            return self._identity, self._issuer
        certificate = self._signer.certificate()
        names = subject_alternative_names(certificate)
        identity = names[0] if names else self._identity
        return identity, certificate_issuer(certificate) or self._issuer

    def signed_as_policy(self) -> IdentityPolicy:
        """Exactly `signed_as()`: what a read-back must find."""
        identity, issuer = self.signed_as()
        return IdentityPolicy.exact(identity=identity, issuer=issuer)

    def sign_payload(self, payload: bytes) -> SignedPayload:
        """`KeylessSigner.sign_payload` with the run's key and certificate."""
        return self._signer.sign_payload(payload)

    def sign_statement(self, statement: bytes) -> bytes:
        """`KeylessSigner.sign_statement` with the run's key and certificate."""
        return self._signer.sign_statement(statement)

    def sign_digest(self, sha256: bytes) -> SignedBlob:
        """`KeylessSigner.sign_digest` with the run's key and certificate."""
        return self._signer.sign_digest(sha256)

    def stats(self) -> tuple[ServiceStats, ...]:
        """Fulcio, Rekor and TSA calls so far."""
        return self._signer.stats()
