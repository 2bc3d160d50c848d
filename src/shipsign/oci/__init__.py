"""OCI registries: references, credentials, auth, the distribution API and referrers.

Layered like go-containerregistry: `reference` (pure) → `credentials` → `auth` → `transport`
→ `exchange` (auth dance, typed errors) → `client` → `shared_tag` (lock-free writes of shared
tags) → `referrers`; `media` holds the content types. Registry HTTP is urllib3's, in
`transport` alone.
"""

from __future__ import annotations

from shipsign.oci.client import Registries, RegistryClient
from shipsign.oci.credentials import (
    ChainKeychain,
    Credential,
    DockerConfigKeychain,
    EnvKeychain,
    Keychain,
    StaticKeychain,
    default_keychain,
)
from shipsign.oci.media import (
    MANIFEST_MAX_BYTES,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Index,
    Manifest,
    Platform,
    build_index,
    build_manifest,
    decode_config_platform,
    decode_manifest,
    merge_index,
    referrer_descriptor,
)
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.referrers import ReferrersResult, ReferrersSource, fetch_referrers
from shipsign.retry import RetryPolicy

__all__ = [
    "MANIFEST_MAX_BYTES",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "ChainKeychain",
    "Credential",
    "Descriptor",
    "Digest",
    "DockerConfigKeychain",
    "EnvKeychain",
    "Index",
    "Keychain",
    "Manifest",
    "Platform",
    "Reference",
    "ReferrersResult",
    "ReferrersSource",
    "Registries",
    "RegistryClient",
    "Repository",
    "RetryPolicy",
    "StaticKeychain",
    "build_index",
    "build_manifest",
    "decode_config_platform",
    "decode_manifest",
    "default_keychain",
    "fetch_referrers",
    "merge_index",
    "referrer_descriptor",
]
