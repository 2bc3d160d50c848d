"""Use case: verify signatures on image digests (`images`) and on files (`blob`)."""

from __future__ import annotations

from shipsign.verify.blob import BlobReport, VerifyBlobRequest, verify_blob
from shipsign.verify.images import (
    FoundSignature,
    ImageResult,
    ImageStatus,
    SourceFormat,
    VerifyReport,
    VerifyRequest,
    verify_images,
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
