"""Where trust comes from: Sigstore's TUF repositories, a ClientTrustConfig file, or a bare
trusted root (verification only). The one place that loads sigstore trust material and turns
its failures into `InputError`/`UnreachableError`; signing and checking live elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from shipsign.errors import InputError, UnreachableError

if TYPE_CHECKING:
    from sigstore.models import ClientTrustConfig, TrustedRoot

__all__ = [
    "Instance",
    "Trust",
    "TrustOptions",
    "load_trust",
]

_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
_TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"


class Instance(str, Enum):
    """The public Sigstore instances, reached through their TUF repositories."""

    PRODUCTION = "production"
    STAGING = "staging"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustOptions:
    """What to trust. `trust_config` and `trusted_root` (verify only) replace the instance."""

    instance: Instance = Instance.PRODUCTION
    offline: bool = False
    trust_config: Path | None = None
    trusted_root: Path | None = None
    force_rekor_v1: bool = False


@dataclass(frozen=True, slots=True)
class Trust:
    """Loaded trust material. `client_config` is None when only verification is possible."""

    source: str
    trusted_root: TrustedRoot
    client_config: ClientTrustConfig | None

    @property
    def can_sign(self) -> bool:
        return self.client_config is not None


def load_trust(options: TrustOptions) -> Trust:
    """Load the trust material `options` names.

    Reads local files, or the TUF repository of the instance (network unless `offline`; offline
    uses the local cache or the copy shipped with sigstore). Raises `InputError` for a file that
    cannot be used (naming it), `UnreachableError` when TUF cannot be refreshed.
    """
    if options.trust_config is not None and options.trusted_root is not None:
        raise InputError(
            "give a trust config or a trusted root, not both",
            found=f"trust config {options.trust_config}, trusted root {options.trusted_root}",
            hint="a trust config already contains its trusted root",
        )
    if options.trusted_root is not None:
        return Trust(
            source=f"trusted root {options.trusted_root}",
            trusted_root=_read_trusted_root(options.trusted_root),
            client_config=None,
        )
    if options.trust_config is not None:
        config = _read_trust_config(options.trust_config)
        source = f"trust config {options.trust_config}"
    else:
        config = _fetch_instance_config(options.instance, offline=options.offline)
        source = f"Sigstore {options.instance.value}{' (offline)' if options.offline else ''}"
    if options.force_rekor_v1:
        config.force_tlog_version = 1
    return Trust(source=source, trusted_root=_checked(config, source), client_config=config)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what}", where=str(path), found=str(exc)) from exc


def _summary(exc: Exception) -> str:
    """One line out of a (pydantic) validation error: the first problem and how many more."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        problems = errors()
        if problems:
            first = problems[0]
            at = ".".join(str(part) for part in first.get("loc", ())) or "document"
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return f"{at}: {first.get('msg', '')}{more}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _media_type(raw: str) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return ""
    value = doc.get("mediaType", "") if isinstance(doc, dict) else ""
    return value if isinstance(value, str) else ""


def _read_trust_config(path: Path) -> ClientTrustConfig:
    from sigstore.models import ClientTrustConfig

    raw = _read(path, "trust config")
    hint = ""
    if _media_type(raw) == _TRUSTED_ROOT_MEDIA_TYPE:
        hint = "this file is a trusted root: pass it with --trusted-root to verify"
    try:
        return ClientTrustConfig.from_json(raw)
    except ValueError as exc:
        raise InputError(
            "the trust config is not a valid ClientTrustConfig",
            where=str(path),
            expected=f"JSON with mediaType {_TRUST_CONFIG_MEDIA_TYPE}",
            found=_summary(exc),
            hint=hint,
        ) from exc


def _read_trusted_root(path: Path) -> TrustedRoot:
    from sigstore.errors import Error
    from sigstore.models import TrustedRoot

    raw = _read(path, "trusted root")
    hint = ""
    if _media_type(raw) == _TRUST_CONFIG_MEDIA_TYPE:
        hint = "this file is a trust config: pass it with --trust-config"
    try:
        return TrustedRoot.from_file(str(path))
    except (ValueError, Error) as exc:
        raise InputError(
            "the trusted root is not valid",
            where=str(path),
            expected=f"JSON with mediaType {_TRUSTED_ROOT_MEDIA_TYPE}",
            found=_summary(exc),
            hint=hint,
        ) from exc


def _fetch_instance_config(instance: Instance, *, offline: bool) -> ClientTrustConfig:
    from sigstore.errors import Error
    from sigstore.models import ClientTrustConfig

    load = (
        ClientTrustConfig.staging if instance is Instance.STAGING else ClientTrustConfig.production
    )
    try:
        return load(offline=offline)
    except Error as exc:
        raise UnreachableError(
            f"cannot load the Sigstore {instance.value} trust root from its TUF repository",
            found=_summary(exc),
            hint="check the network, or pass --offline to use the cached trust root",
        ) from exc


def _checked(config: ClientTrustConfig, source: str) -> TrustedRoot:
    """Build the trusted root and signing config now, so a broken file fails before signing."""
    from sigstore.errors import Error

    try:
        trusted_root = config.trusted_root
    except (ValueError, Error) as exc:
        raise InputError(
            "the trusted root is not valid", where=source, found=_summary(exc)
        ) from exc
    try:
        _ = config.signing_config  # built only to validate it
    except (ValueError, Error) as exc:
        hint = ""
        if config.force_tlog_version == 1:
            hint = (
                "Rekor v1 was required: the signing config must list a Rekor with majorApiVersion 1"
            )
        raise InputError(
            "the signing config cannot be used",
            where=source,
            found=_summary(exc),
            hint=hint,
        ) from exc
    return trusted_root
