"""Use case: keyless signing of images, published in cosign's formats next to every copy, and
of files (release assets) with the same certificate.

`sign_artifacts(SignRequest(...))` (also known as `sign_images`) returns a `SignReport`; `run`
orchestrates, `plan` resolves and groups, `work` schedules every (digest, location, format)
through the format's strategy (`strategy` is their interface; `legacy_strategy` and
`bundle_strategy` look with `existing`, sign in the run's `keyless.session.SigningSession`, and
write with `legacy`/`bundle`), `readback` verifies; `shipsign.blobs` signs the files in the
same session.
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
from shipsign.sign.run import plan_files_for, sign_artifacts, sign_images
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
    "plan_files_for",
    "sign_artifacts",
    "sign_images",
]
