"""Verify one cosign legacy `.sig` signature offline, with every check cosign makes.

formats.md §4.2.

Keyless: payload claims, layer digest, signature over the exact payload bytes, certificate chain
to a trusted Fulcio CA at the signing time, key usage, embedded SCT, Rekor SET and entry body,
signing time inside the certificate's validity, identity policy. With a key: the same minus the
certificate checks. Registry I/O is the caller's; each failed check comes back as data.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from cryptography import x509

from shipsign.checks import (
    Check,
    CheckFailure,
    SignatureFacts,
    SignatureFormat,
    SignatureOutcome,
    run_check,
)
from shipsign.errors import InputError
from shipsign.keyless.certificate import (
    check_certificate_chain,
    check_certificate_usage,
    check_signing_time,
    parse_certificate,
    parse_certificate_chain,
)
from shipsign.keyless.fulcio_identity import signer
from shipsign.keyless.keys import VerificationKey, signature_problem
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.rekor import (
    check_rekor_body,
    check_rekor_set,
    go_b64decode,
    integrated_datetime,
)
from shipsign.keyless.sct import check_sct
from shipsign.keyless.trust_material import TrustMaterial, TrustSource, load_trust_material
from shipsign.legacy_signature import SIMPLE_SIGNING_TYPE, LegacySignature

__all__ = ["verify_legacy_signature"]

# How far in the future a Rekor integratedTime may lie before it is suspicious (clock skew).
MAX_CLOCK_SKEW = timedelta(minutes=5)


def verify_legacy_signature(
    signature: LegacySignature,
    *,
    image_digest: str,
    now: datetime,
    trust: TrustSource | None = None,
    policy: IdentityPolicy | None = None,
    key: VerificationKey | None = None,
    require_tlog: bool = True,
    require_sct: bool = True,
) -> SignatureOutcome:
    """Check one legacy signature for `image_digest` (`sha256:<hex>`); never raises for it.

    Keyless unless `key` is given; keyless needs `trust` and a `policy` naming the identity
    (`InputError` otherwise). `require_tlog=False` accepts a key signature without a Rekor
    bundle (cosign's `--insecure-ignore-tlog`); `require_sct=False` is `--insecure-ignore-sct`.
    """
    if key is None and (policy is None or not policy.names_identity):
        raise InputError(
            "keyless verification needs the expected signer identity",
            hint="give --certificate-identity or --certificate-identity-regexp, or --key",
        )
    if key is None and trust is None:
        raise InputError("keyless verification needs a trusted root")
    material = load_trust_material(trust) if trust is not None else None
    run = _Run(signature, material, where=_where(signature))
    run.step(Check.PAYLOAD, lambda: run.check_claims(image_digest))
    if key is None:
        run.step(Check.CERTIFICATE, run.load_leaf)
    run.step(Check.SIGNATURE, lambda: run.check_signature(key))
    run.step(
        Check.TLOG_ENTRY, lambda: run.check_tlog(key, now=now, require=require_tlog or key is None)
    )
    if key is None and policy is not None:
        run.step(
            Check.CERTIFICATE_CHAIN, lambda: run.check_certificate(policy, require_sct=require_sct)
        )
    return SignatureOutcome(
        format=SignatureFormat.LEGACY,
        facts=run.facts(key),
        failures=tuple(run.failures),
    )


def _where(signature: LegacySignature) -> str:
    layer = f" {signature.layer_digest}" if signature.layer_digest else ""
    return f".sig layer{layer}"


class _Run:
    """The checks of one signature, sharing what earlier checks decoded."""

    def __init__(self, sig: LegacySignature, trust: TrustMaterial | None, *, where: str) -> None:
        self.sig = sig
        self.trust = trust
        self.where = where
        self.failures: list[CheckFailure] = list(sig.problems)
        self.leaf: x509.Certificate | None = None
        self.raw_signature: bytes | None = None
        self.signed_at: datetime | None = None

    def step(self, check: Check, fn: Callable[[], None]) -> None:
        """Run one step; an exception escaping it fails `check` (fail closed)."""

        def run() -> list[CheckFailure]:
            fn()
            return []

        self.failures.extend(run_check(check, self.where, run))

    def add(self, check: Check, fn: Callable[[], Iterable[CheckFailure]], part: str = "") -> None:
        self.failures.extend(run_check(check, f"{self.where}{part}", fn))

    def fail(self, check: Check, expected: str, found: str, part: str = "") -> None:
        self.failures.append(
            CheckFailure(
                check=check.value, expected=expected, found=found, where=f"{self.where}{part}"
            )
        )

    def reported(self, check: Check) -> bool:
        return any(f.check == check.value for f in self.failures)

    def check_claims(self, image_digest: str) -> None:
        claims = self.sig.claims
        if claims is None:
            if not self.reported(Check.PAYLOAD):
                self.fail(
                    Check.PAYLOAD, "a simple-signing payload", "undecodable payload", " payload"
                )
        else:
            if claims.type != SIMPLE_SIGNING_TYPE:
                self.fail(Check.PAYLOAD, SIMPLE_SIGNING_TYPE, claims.type, " payload critical.type")
            if claims.docker_manifest_digest != image_digest:
                self.fail(
                    Check.PAYLOAD_DIGEST,
                    image_digest,
                    claims.docker_manifest_digest,
                    " payload critical.image.docker-manifest-digest",
                )
        if self.sig.layer_digest is not None:
            actual = "sha256:" + hashlib.sha256(self.sig.payload).hexdigest()
            if actual != self.sig.layer_digest:
                self.fail(Check.LAYER_DIGEST, self.sig.layer_digest, actual, " blob sha256")

    def check_signature(self, key: VerificationKey | None) -> None:
        part = " annotation dev.cosignproject.cosign/signature"
        try:
            raw = go_b64decode(self.sig.signature)
        except (binascii.Error, ValueError) as exc:
            self.fail(Check.SIGNATURE, "a base64 signature", f"{exc}", part)
            return
        if not raw:
            self.fail(Check.SIGNATURE, "a signature", "an empty signature annotation", part)
            return
        self.raw_signature = raw
        public_key = key.public_key if key is not None else None
        if self.leaf is not None:
            public_key = self.leaf.public_key()
        if public_key is not None:
            where = self.where + part
            self.add(
                Check.SIGNATURE,
                lambda: _problem(signature_problem(public_key, raw, self.sig.payload), where),
            )

    def load_leaf(self) -> None:
        self.leaf = self._leaf()

    def _leaf(self) -> x509.Certificate | None:
        part = " annotation dev.sigstore.cosign/certificate"
        if not self.sig.certificate:
            self.fail(
                Check.CERTIFICATE,
                "a Fulcio certificate (or verify with a key)",
                "no certificate",
                part,
            )
            return None
        try:
            leaf = parse_certificate(self.sig.certificate)
            leaf.public_key()  # parsed lazily: a broken key must fail here, as a certificate
        except Exception as exc:  # ValueError, UnsupportedAlgorithm: not a usable certificate
            self.fail(Check.CERTIFICATE, "one PEM certificate", f"{exc}", part)
            return None
        if self.sig.chain:
            try:
                parse_certificate_chain(self.sig.chain)
            except ValueError as exc:
                self.fail(
                    Check.CERTIFICATE,
                    "empty or PEM certificates",
                    f"{exc}",
                    " annotation dev.sigstore.cosign/chain",
                )
        return leaf

    def check_tlog(self, key: VerificationKey | None, *, now: datetime, require: bool) -> None:
        rekor, part = self.sig.rekor, " annotation dev.sigstore.cosign/bundle"
        if rekor is None:
            if require and not self.reported(Check.TLOG_ENTRY):
                self.fail(
                    Check.TLOG_ENTRY,
                    "a Rekor bundle annotation (offline: no Rekor lookup)",
                    "none",
                    part,
                )
            return
        if self.trust is None:
            # Without a trusted root the log entry can only be ignored, which is what
            # `--key --insecure-ignore-tlog` asks for (as cosign's flag); never for keyless.
            if require:
                self.fail(
                    Check.REKOR_SET,
                    "a trusted root to check the Rekor bundle with",
                    "none given",
                    part,
                )
            return
        trust = self.trust
        try:
            self.signed_at = integrated_datetime(rekor)
        except ValueError as exc:
            self.fail(Check.SIGNING_TIME, "a unix time", f"{exc}", part + " Payload.integratedTime")
        self.add(Check.REKOR_SET, lambda: check_rekor_set(rekor, trust, where=self.where + part))
        if self.signed_at is not None and self.signed_at > now + MAX_CLOCK_SKEW:
            self.fail(
                Check.SIGNING_TIME,
                f"an integratedTime before {now.isoformat()}",
                self.signed_at.isoformat(),
                part + " Payload.integratedTime",
            )
        raw_signature = self.raw_signature
        if raw_signature is not None and (key is not None or self.leaf is not None):
            self.add(
                Check.REKOR_BODY,
                lambda: check_rekor_body(
                    rekor,
                    payload=self.sig.payload,
                    signature=raw_signature,
                    certificate=self.leaf,
                    key=key,
                    where=self.where + part,
                ),
            )

    def check_certificate(self, policy: IdentityPolicy, *, require_sct: bool) -> None:
        leaf, trust = self.leaf, self.trust
        if leaf is None or trust is None:
            return  # already reported: no usable certificate
        part = " annotation dev.sigstore.cosign/certificate"
        where = self.where + part
        if self.signed_at is None:
            if not self.reported(Check.SIGNING_TIME):
                self.fail(Check.SIGNING_TIME, "a signing time from the Rekor bundle", "none", part)
            at = leaf.not_valid_before_utc
        else:
            at = self.signed_at
            self.add(Check.SIGNING_TIME, lambda: check_signing_time(leaf, at, where=where))
        self.add(
            Check.CERTIFICATE_CHAIN, lambda: check_certificate_chain(leaf, trust, at, where=where)
        )
        self.add(Check.CERTIFICATE_USAGE, lambda: check_certificate_usage(leaf, where=where))
        if require_sct:
            self.add(Check.SCT, lambda: check_sct(leaf, trust, where=where))
        self.add(Check.IDENTITY, lambda: policy.check(leaf, where=where))

    def facts(self, key: VerificationKey | None) -> SignatureFacts:
        identity, issuer = signer(self.leaf) if self.leaf is not None else (None, None)
        return SignatureFacts(
            identity=identity,
            issuer=issuer,
            log_index=self.sig.rekor.log_index if self.sig.rekor else None,
            signing_time=self.signed_at,
            key_id=key.key_id if key is not None else None,
        )


def _problem(problem: str | None, where: str) -> list[CheckFailure]:
    if problem is None:
        return []
    expected = "a signature over the exact payload bytes by the signing key"
    return [
        CheckFailure(check=Check.SIGNATURE.value, expected=expected, found=problem, where=where)
    ]
