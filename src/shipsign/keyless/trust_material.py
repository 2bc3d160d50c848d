"""A trusted root as the legacy verifier needs it: Fulcio CAs, Rekor and CT log keys, with validity.

sigstore-python's `TrustedRoot` exposes no per-key validity periods, so we read the trusted-root
JSON (protobuf-specs `TrustedRoot`) ourselves, and keep sigstore's object for bundle checks.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeAlias, Union

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sigstore.errors import Error as SigstoreError
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier

from shipsign.errors import InputError
from shipsign.keyless.sigstore_private import trusted_root_json
from shipsign.keyless.trust import Trust, TrustOptions, load_trust

__all__ = [
    "FulcioAuthority",
    "LogKey",
    "TrustMaterial",
    "TrustSource",
    "ValidityPeriod",
    "load_trust_material",
    "load_verification_trust",
    "parse_rfc3339",
    "verification_trust",
]

_logger = logging.getLogger(__name__)

_RFC3339 = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-]\d\d):(\d\d))"
)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (protobuf JSON style) into an aware datetime."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    day, clock, frac, zulu, off_h, off_m = m.groups()
    value = datetime.fromisoformat(f"{day}T{clock}").replace(
        microsecond=int((frac or "0")[:6].ljust(6, "0"))
    )
    if zulu:
        return value.replace(tzinfo=timezone.utc)
    sign = -1 if off_h.startswith("-") else 1
    offset = timedelta(hours=abs(int(off_h)), minutes=int(off_m)) * sign
    return value.replace(tzinfo=timezone(offset))


@dataclass(frozen=True, slots=True)
class ValidityPeriod:
    """A `validFor` range; an open end means "still valid"."""

    start: datetime | None
    end: datetime | None

    def covers(self, moment: datetime) -> bool:
        """True when `moment` lies inside the period (both ends inclusive)."""
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment <= self.end

    def describe(self) -> str:
        """The period as text, for failure messages."""
        start = self.start.isoformat() if self.start else "-inf"
        end = self.end.isoformat() if self.end else "open"
        return f"[{start}, {end}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogKey:
    """A transparency-log (Rekor) or CT-log key, found by its RFC 6962 key ID."""

    name: str
    key_id: bytes
    public_key: PublicKeyTypes
    validity: ValidityPeriod


@dataclass(frozen=True, slots=True, kw_only=True)
class FulcioAuthority:
    """One Fulcio CA: its chain (intermediates first, root last) and when it could issue."""

    name: str
    certificates: tuple[x509.Certificate, ...]
    validity: ValidityPeriod


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustMaterial:
    """Everything a verification trusts; build once and share (immutable, thread-safe)."""

    trusted_root: TrustedRoot
    verifier: Verifier  # sigstore-python's, for bundles; stateless, shared by all threads
    fulcio: tuple[FulcioAuthority, ...]
    rekor_logs: tuple[LogKey, ...]
    ct_logs: tuple[LogKey, ...]
    source: str

    def rekor_key(self, log_id_hex: str) -> LogKey | None:
        """The Rekor key whose ID (hex) is `log_id_hex`, if the trusted root has one."""
        return next((k for k in self.rekor_logs if k.key_id.hex() == log_id_hex.lower()), None)

    def ct_key(self, key_id: bytes) -> LogKey | None:
        """The CT log key whose ID is `key_id`, if the trusted root has one."""
        return next((k for k in self.ct_logs if k.key_id == key_id), None)


TrustSource: TypeAlias = Union[TrustMaterial, TrustedRoot, str, "os.PathLike[str]"]


def verification_trust(trust: Trust) -> TrustMaterial:
    """The material a run verifies with, built once from loaded trust and named after where it
    came from (the file or the instance, not "TrustedRoot object") in failure messages."""
    material = load_trust_material(trust.trusted_root)
    return dataclasses.replace(material, source=trust.source)


def load_verification_trust(options: TrustOptions) -> TrustMaterial:
    """Load what `options` names and build the material to verify with: the one way every
    command (verify, verify-blob, verify-release, gate, sign's read-back) gets its trust."""
    return verification_trust(load_trust(options))


def load_trust_material(source: TrustSource) -> TrustMaterial:
    """Return trust material from a `TrustedRoot`, a trusted_root.json path, or as is.

    Raises `InputError` for an unreadable or malformed trusted root.
    """
    if isinstance(source, TrustMaterial):
        return source
    if isinstance(source, TrustedRoot):
        return _from_json(source, trusted_root_json(source), source="TrustedRoot object")
    path = Path(source)
    try:
        raw = path.read_bytes()
        root = TrustedRoot.from_file(str(path))
    except OSError as exc:
        raise InputError("cannot read the trusted root", where=str(path), found=str(exc)) from exc
    except Exception as exc:  # sigstore/pydantic raise several unrelated types here
        raise InputError(
            "the trusted root is not valid",
            where=str(path),
            expected="a Sigstore trusted_root.json",
            found=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        ) from exc
    return _from_json(root, raw, source=str(path))


def _from_json(root: TrustedRoot, raw: bytes, *, source: str) -> TrustMaterial:
    try:
        doc = json.loads(raw)
        return TrustMaterial(
            trusted_root=root,
            verifier=Verifier(trusted_root=root),
            fulcio=tuple(_authority(a) for a in doc.get("certificateAuthorities") or []),
            rekor_logs=tuple(_log_keys(doc.get("tlogs") or [])),
            ct_logs=tuple(_log_keys(doc.get("ctlogs") or [])),
            source=source,
        )
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, SigstoreError) as exc:
        raise InputError(
            "the trusted root is not valid",
            where=source,
            expected="a Sigstore trusted_root.json",
            found=f"{type(exc).__name__}: {exc}",
        ) from exc


def _validity(doc: dict[str, Any] | None) -> ValidityPeriod:
    doc = doc or {}
    start, end = doc.get("start"), doc.get("end")
    return ValidityPeriod(
        start=parse_rfc3339(start) if start else None,
        end=parse_rfc3339(end) if end else None,
    )


def _authority(doc: dict[str, Any]) -> FulcioAuthority:
    certs = tuple(
        x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
        for c in doc["certChain"]["certificates"]
    )
    if not certs:
        raise ValueError("a certificate authority without certificates")
    return FulcioAuthority(
        name=doc.get("uri", ""), certificates=certs, validity=_validity(doc.get("validFor"))
    )


def _log_keys(docs: list[dict[str, Any]]) -> list[LogKey]:
    keys = []
    for doc in docs:
        public = doc["publicKey"]
        try:
            key = load_der_public_key(base64.b64decode(public["rawBytes"]))
        except ValueError:
            # e.g. a retired PKCS#1 RSA CT key that cryptography will not load: skip it, so
            # only signatures that need that key fail (with "no trusted key").
            _logger.debug("skipping unloadable log key of %s", doc.get("baseUrl"))
            continue
        keys.append(
            LogKey(
                name=doc.get("baseUrl", ""),
                key_id=base64.b64decode(doc["logId"]["keyId"]),
                public_key=key,
                validity=_validity(public.get("validFor")),
            )
        )
    return keys
