"""What a signature verification checks, and how its result is told: names, failures, outcomes.

Checks return failures as data. `run_check` makes every check fail closed: an exception that
escapes a check becomes a failure of that check, never a pass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

__all__ = [
    "Check",
    "CheckFailure",
    "SignatureFacts",
    "SignatureFormat",
    "SignatureOutcome",
    "run_check",
]

_logger = logging.getLogger(__name__)


class Check(str, Enum):
    """The name of one check; `CheckFailure.check` holds its value."""

    # the signed claim (legacy simple-signing payload, or the DSSE in-toto statement)
    PAYLOAD = "payload"
    PAYLOAD_DIGEST = "payload_digest"
    LAYER_DIGEST = "layer_digest"
    DSSE_PAYLOAD_TYPE = "dsse_payload_type"
    DSSE_SUBJECT = "dsse_subject"
    ARTIFACT_DIGEST = "artifact_digest"
    # the signature and who made it
    SIGNATURE = "signature"
    PUBLIC_KEY = "public_key"
    CERTIFICATE = "certificate"
    CERTIFICATE_CHAIN = "certificate_chain"
    CERTIFICATE_USAGE = "certificate_usage"
    SCT = "sct"
    SIGNING_TIME = "signing_time"
    # the transparency log
    TLOG_ENTRY = "tlog_entry"
    REKOR_SET = "rekor_set"
    REKOR_BODY = "rekor_body"
    TLOG_INCLUSION = "tlog_inclusion"
    # the identity policy
    IDENTITY = "identity"
    ISSUER = "issuer"
    GITHUB_REPOSITORY = "github_repository"
    GITHUB_REF = "github_ref"
    GITHUB_WORKFLOW_TRIGGER = "github_workflow_trigger"
    GITHUB_SHA = "github_sha"
    GITHUB_WORKFLOW = "github_workflow"
    RUNNER_ENVIRONMENT = "runner_environment"
    # Sigstore bundles, as sigstore-python sees them
    BUNDLE_PARSE = "bundle_parse"
    BUNDLE_CONTENT = "bundle_content"
    BUNDLE_VERIFY = "bundle_verify"

    def __str__(self) -> str:
        return self.value


class SignatureFormat(str, Enum):
    """Where a signature came from: a legacy `.sig` layer or a Sigstore bundle."""

    LEGACY = "legacy"
    BUNDLE = "bundle"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckFailure:
    """One failed check: what was expected, what was found, and in which part of the signature."""

    check: str
    expected: str
    found: str
    where: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureFacts:
    """What a signature claims about itself; trustworthy only when the outcome passed."""

    identity: str | None = None
    issuer: str | None = None
    log_index: int | None = None
    signing_time: datetime | None = None
    key_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureOutcome:
    """The verdict on one signature: it passed when no check failed."""

    format: SignatureFormat
    facts: SignatureFacts
    failures: tuple[CheckFailure, ...]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return not self.failures

    @property
    def failed_checks(self) -> frozenset[str]:
        """The names of the checks that failed."""
        return frozenset(f.check for f in self.failures)


def run_check(
    check: Check, where: str, fn: Callable[[], Iterable[CheckFailure]]
) -> list[CheckFailure]:
    """Run one check; an exception escaping it is reported as a failure of that check."""
    try:
        return list(fn())
    except Exception as exc:  # fail closed: a crashing check must not count as a pass
        _logger.debug("check %s raised", check.value, exc_info=True)
        return [
            CheckFailure(
                check=check.value,
                expected="the check to complete",
                found=f"{type(exc).__name__}: {exc}",
                where=where,
            )
        ]
