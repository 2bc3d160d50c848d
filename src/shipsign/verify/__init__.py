"""Use case: verify signatures on image digests (`images`) and on files (`blob`).

`shipsign.signatures` finds and checks the signatures of one digest; `report` holds the
results.
"""

from __future__ import annotations

from shipsign.verify.blob import BlobReport, VerifyBlobRequest, verify_blob
from shipsign.verify.images import VerifyRequest, verify_images
from shipsign.verify.report import (
    FoundSignature,
    ImageResult,
    ImageStatus,
    SourceFormat,
    VerifyReport,
)

__all__ = [
    "BlobReport",
    "FoundSignature",
    "ImageResult",
    "ImageStatus",
    "SourceFormat",
    "VerifyBlobRequest",
    "VerifyReport",
    "VerifyRequest",
    "verify_blob",
    "verify_images",
]
