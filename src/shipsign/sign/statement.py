"""The in-toto statement a bundle signs for an image (formats.md §3.1, §5.3); what an existing
bundle's statement claims (is it the signature we would add?) and its Rekor log index.

Pure. The subject carries `"name": null`: sigstore-python refuses a subject without a `name`
key, and one bundle serves every location, so it must not name one repository; Go's protojson
(cosign, sigstore-go) skips a JSON null for a string field, so cosign reads it as no name.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from shipsign.formats.bundle_ref import COSIGN_SIGN_PREDICATE
from shipsign.oci.reference import Digest

__all__ = [
    "IN_TOTO_PAYLOAD_TYPE",
    "STATEMENT_TYPE",
    "StatementClaims",
    "build_statement",
    "bundle_log_index",
    "read_claims",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def build_statement(digest: Digest, annotations: Mapping[str, str]) -> bytes:
    """The statement cosign v3's `sign` makes, with a null subject name (see the module doc).

    Field order as protojson writes it; `annotations` is `{}` without `-a`, as cosign writes.
    """
    doc = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": None,
                "digest": {digest.algorithm: digest.hex},
                "annotations": dict(sorted(annotations.items())),
            }
        ],
        "predicateType": COSIGN_SIGN_PREDICATE,
        "predicate": {},
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementClaims:
    """What a bundle's in-toto statement says about one digest."""

    predicate_type: str
    annotations: Mapping[str, str]  # of the subject that names the digest


def read_claims(bundle_json: bytes, digest: Digest) -> StatementClaims | None:
    """The claims of a DSSE bundle's statement for `digest`; None if it has none or is malformed.

    Only a reading: whether the bundle is valid is the verifier's business.
    """
    try:
        doc: Any = json.loads(bundle_json)
        envelope = doc["dsseEnvelope"]
        if envelope.get("payloadType") != IN_TOTO_PAYLOAD_TYPE:
            return None
        statement: Any = json.loads(base64.b64decode(envelope["payload"], validate=True))
        predicate_type = statement["predicateType"]
        subjects = statement["subject"]
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, RecursionError):
        return None
    if not isinstance(predicate_type, str) or not isinstance(subjects, list):
        return None
    for subject in subjects:
        if not isinstance(subject, dict):
            continue
        named = subject.get("digest")
        if not isinstance(named, dict) or named.get(digest.algorithm) != digest.hex:
            continue
        annotations = subject.get("annotations") or {}
        if not isinstance(annotations, dict):
            return None
        return StatementClaims(
            predicate_type=predicate_type,
            annotations=MappingProxyType(
                {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in annotations.items()}
            ),
        )
    return None


def bundle_log_index(bundle_json: bytes) -> int | None:
    """The global Rekor log index of a bundle's (first) transparency log entry, if readable."""
    try:
        doc: Any = json.loads(bundle_json)
        return int(doc["verificationMaterial"]["tlogEntries"][0]["logIndex"])
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None
