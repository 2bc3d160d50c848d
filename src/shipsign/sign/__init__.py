"""Use case: keyless signing of images, published in cosign's formats next to every copy.

`sign_images(SignRequest(...))` returns a `SignReport`; `run` orchestrates, `plan` resolves and
groups, `existing` finds what is already signed, `legacy`/`bundle` write, `readback` verifies.
"""

from __future__ import annotations

from shipsign.sign.model import (
    ImageTarget,
    ReadBack,
    SignFormat,
    SignReport,
    SignRequest,
    SignResult,
    SignStatus,
    parse_annotations,
)
from shipsign.sign.run import sign_images
from shipsign.sign.tags import TagResult, TagStatus

__all__ = [
    "ImageTarget",
    "ReadBack",
    "SignFormat",
    "SignReport",
    "SignRequest",
    "SignResult",
    "SignStatus",
    "TagResult",
    "TagStatus",
    "parse_annotations",
    "sign_images",
]
