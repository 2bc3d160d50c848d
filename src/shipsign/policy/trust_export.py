"""The trust material an exported policy names: Sigstore's public instance (URLs only: every
engine trusts it by default), its staging instance, or a private one from a ClientTrustConfig.

Reads the protobuf-JSON files directly (standard library only): an engine wants PEM text and
URLs, which need no certificate parsing. Staging's trusted root is the copy sigstore-python
ships.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from shipsign.errors import InputError

__all__ = ["ExportTrust", "TrustKind", "export_trust"]

_PUBLIC_FULCIO = "https://fulcio.sigstore.dev"
_PUBLIC_REKOR = "https://rekor.sigstore.dev"
_STAGING_FULCIO = "https://fulcio.sigstage.dev"
_STAGING_REKOR = "https://rekor.sigstage.dev"
_STAGING_STORE = "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"


class TrustKind(str, Enum):
    PUBLIC = "public"
    STAGING = "staging"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportTrust:
    """URLs and PEM material for custom roots; the PEM fields are None for the public instance."""

    kind: TrustKind
    fulcio_url: str
    rekor_url: str
    fulcio_chain: str | None = None  # PEM, every CA certificate
    rekor_key: str | None = None  # PEM public key of the Rekor log at rekor_url
    ctlog_key: str | None = None  # PEM public key of the current CT log
    tsa_chain: str | None = None  # PEM chain of the current timestamp authority
    trusted_root: str | None = None  # trusted_root.json text
    source: str = "Sigstore public-good instance"

    @property
    def custom(self) -> bool:
        return self.kind is not TrustKind.PUBLIC


def _pem(label: str, b64: str) -> str:
    body = "\n".join(textwrap.wrap(b64.replace("\n", ""), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def _current(items: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The last item whose validity has no end (still in use), else the last one."""
    open_ended = [i for i in items if not ((i.get(key) or {}).get("validFor") or {}).get("end")]
    chosen = open_ended or items
    return chosen[-1] if chosen else None


def _from_root(
    kind: TrustKind, root: dict[str, Any], fulcio: str, rekor: str, source: str
) -> ExportTrust:
    try:
        chain = "".join(
            _pem("CERTIFICATE", cert["rawBytes"])
            for ca in root.get("certificateAuthorities") or []
            for cert in ca["certChain"]["certificates"]
        )
        tlogs = root.get("tlogs") or []
        tlog = next((t for t in tlogs if t.get("baseUrl", "").rstrip("/") == rekor), None)
        tlog = tlog or _current(tlogs, "publicKey")
        ctlog = _current(root.get("ctlogs") or [], "publicKey")
        tsa = _current(root.get("timestampAuthorities") or [], "")
        tsa_chain = (
            "".join(_pem("CERTIFICATE", c["rawBytes"]) for c in tsa["certChain"]["certificates"])
            if tsa
            else None
        )
        return ExportTrust(
            kind=kind,
            fulcio_url=fulcio,
            rekor_url=rekor,
            fulcio_chain=chain or None,
            rekor_key=_pem("PUBLIC KEY", tlog["publicKey"]["rawBytes"]) if tlog else None,
            ctlog_key=_pem("PUBLIC KEY", ctlog["publicKey"]["rawBytes"]) if ctlog else None,
            tsa_chain=tsa_chain,
            trusted_root=json.dumps(root, indent=2) + "\n",
            source=source,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            "the trusted root is not valid", where=source, found=f"missing {exc}"
        ) from exc


def _first_url(services: Any, fallback: str) -> str:
    if isinstance(services, list):
        v1 = [s for s in services if isinstance(s, dict) and s.get("majorApiVersion", 1) == 1]
        for service in v1 or services:
            if isinstance(service, dict) and isinstance(service.get("url"), str):
                return str(service["url"]).rstrip("/")
    return fallback


def export_trust(*, staging: bool = False, trust_config: Path | None = None) -> ExportTrust:
    """The trust to export: a ClientTrustConfig file, staging, or (default) public-good.

    Raises InputError for a trust config that cannot be read or lacks a trusted root.
    """
    if trust_config is not None:
        source = f"trust config {trust_config}"
        try:
            doc = json.loads(trust_config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError("cannot read the trust config", where=str(trust_config)) from exc
        root = doc.get("trustedRoot") if isinstance(doc, dict) else None
        signing = (doc.get("signingConfig") if isinstance(doc, dict) else None) or {}
        if not isinstance(root, dict):
            raise InputError(
                "the trust config has no trustedRoot",
                where=str(trust_config),
                expected="a Sigstore ClientTrustConfig (trustedRoot + signingConfig)",
            )
        cas = root.get("certificateAuthorities") or [{}]
        tlogs = root.get("tlogs") or [{}]
        fulcio = _first_url(signing.get("caUrls"), str(cas[-1].get("uri", "")))
        rekor = _first_url(signing.get("rekorTlogUrls"), str(tlogs[0].get("baseUrl", "")))
        return _from_root(TrustKind.PRIVATE, root, fulcio, rekor, source)
    if staging:
        text = (
            resources.files("sigstore") / "_store" / _STAGING_STORE / "trusted_root.json"
        ).read_text(encoding="utf-8")
        return _from_root(
            TrustKind.STAGING,
            json.loads(text),
            _STAGING_FULCIO,
            _STAGING_REKOR,
            "Sigstore staging instance",
        )
    return ExportTrust(kind=TrustKind.PUBLIC, fulcio_url=_PUBLIC_FULCIO, rekor_url=_PUBLIC_REKOR)
