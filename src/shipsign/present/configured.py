"""Run `verify` with the policy file's policies: the images grouped by the `[[policy]]` that
decides each, one verification per group, one report in the order the images were given.
Shared by the CLI and the Action."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipsign.policy.config import ShipsignConfig
    from shipsign.verify import VerifyReport, VerifyRequest

__all__ = ["verify_with_config"]


def verify_with_config(request: VerifyRequest, config: ShipsignConfig) -> VerifyReport:
    """Verify `request.images`, each against the policy `config` gives it.

    Raises InputError (naming the file) before anything is fetched when an image has no
    policy.
    """
    from shipsign.policy.config import group_images
    from shipsign.verify import VerifyReport, verify_images

    groups = group_images(config, request.images)
    reports = [
        verify_images(replace(request, images=images, policy=policy)) for policy, images in groups
    ]
    by_input = {image.input: image for report in reports for image in report.images}
    first = reports[0]
    return VerifyReport(
        images=tuple(by_input[i] for i in request.images if i in by_input),
        trust_source=first.trust_source,
        keyed=first.keyed,
        not_checked=first.not_checked,
    )
