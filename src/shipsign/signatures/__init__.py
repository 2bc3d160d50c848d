"""A digest's signatures, found and checked in one place for every command.

`find` sorts what cosign's two places hold for a digest (image signatures, attestations, other
referrers); `check` applies a run's trust and identity policy to the signatures among them.
`verify`, sign's "already signed?" check and `tree` all read signatures through here. Writing
them is `shipsign.oci.shared_tag`'s and the formats' business.
"""

from __future__ import annotations

from shipsign.signatures.check import Found, FoundSignature, SignatureChecks, check_candidates
from shipsign.signatures.find import (
    Candidate,
    Kind,
    classify_referrer,
    find_bundles,
    find_legacy,
    layer_signer,
    legacy_candidates,
    referrer_candidates,
    signature_tag,
)

__all__ = [
    "Candidate",
    "Found",
    "FoundSignature",
    "Kind",
    "SignatureChecks",
    "check_candidates",
    "classify_referrer",
    "find_bundles",
    "find_legacy",
    "layer_signer",
    "legacy_candidates",
    "referrer_candidates",
    "signature_tag",
]
