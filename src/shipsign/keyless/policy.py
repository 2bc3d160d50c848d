"""The identity policy: which signer and which workflow a certificate must name.

One policy object serves both formats. Every mismatch is reported, with what was expected and
what the certificate says. Regular expressions must match the whole value (unlike cosign's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from shipsign.errors import InputError
from shipsign.keyless.checks import Check, CheckFailure
from shipsign.keyless.fulcio_identity import (
    certificate_issuer,
    fulcio_extension,
    subject_alternative_names,
)

__all__ = ["IdentityPolicy"]

_GITHUB = "https://github.com/"
# Fulcio extension numbers (formats.md §4.4): V2 (DER) first, then the deprecated raw one.
_REPOSITORY = (12, 5)
_REF = (14, 6)
_TRIGGER = (20, 2)
_SHA = (13, 3)
_BUILD_SIGNER = (9,)
_RUNNER = (11,)


def _first_extension(cert: x509.Certificate, numbers: tuple[int, ...]) -> str | None:
    for number in numbers:
        value = fulcio_extension(cert, number)
        if value is not None:
            return value
    return None


def _compile(pattern: str | None, flag: str) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InputError(
            f"invalid regular expression for {flag}",
            found=f"{pattern!r}: {exc}",
            expected="a Python regular expression (matched against the whole value)",
        ) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityPolicy:
    """Expected signer identity, OIDC issuer and GitHub workflow claims; None means "any".

    Construction raises `InputError` for an invalid regular expression, or when both the exact
    value and the regular expression are given for the same claim.
    """

    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    github_repository: str | None = None  # OWNER/REPO
    github_ref: str | None = None
    github_workflow_trigger: str | None = None
    github_sha: str | None = None
    github_workflow: str | None = (
        None  # build signer URI: https://github.com/OWNER/REPO/.github/…@ref
    )
    runner_environment: str | None = None  # github-hosted | self-hosted
    _identity_re: re.Pattern[str] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _issuer_re: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for exact, regexp, name in (
            (self.identity, self.identity_regexp, "--certificate-identity"),
            (self.issuer, self.issuer_regexp, "--certificate-oidc-issuer"),
        ):
            if exact is not None and regexp is not None:
                raise InputError(
                    f"give {name} or {name}-regexp, not both",
                    found=f"{name} {exact!r} and {name}-regexp {regexp!r}",
                )
        object.__setattr__(
            self, "_identity_re", _compile(self.identity_regexp, "--certificate-identity-regexp")
        )
        object.__setattr__(
            self, "_issuer_re", _compile(self.issuer_regexp, "--certificate-oidc-issuer-regexp")
        )

    @property
    def names_identity(self) -> bool:
        """True when the policy pins the signer's identity (exactly or by regexp)."""
        return self.identity is not None or self.identity_regexp is not None

    def check(self, cert: x509.Certificate, *, where: str) -> list[CheckFailure]:
        """Return every way `cert` differs from this policy (empty when it satisfies it)."""
        failures: list[CheckFailure] = []

        def claim(
            check: Check, expected: str, found: str | None, ok: Callable[[str], bool]
        ) -> None:
            if found is None or not ok(found):
                failures.append(
                    CheckFailure(
                        check=check.value,
                        expected=expected,
                        found="(not in the certificate)" if found is None else found,
                        where=where,
                    )
                )

        self._check_identity(cert, failures, where)
        issuer = certificate_issuer(cert)
        if self.issuer is not None:
            claim(Check.ISSUER, self.issuer, issuer, lambda v: v == self.issuer)
        if self._issuer_re is not None:
            pattern = self._issuer_re
            claim(
                Check.ISSUER,
                f"/{pattern.pattern}/ (whole value)",
                issuer,
                lambda v: pattern.fullmatch(v) is not None,
            )
        if self.github_repository is not None:
            given, want = self.github_repository, _repository_uri(self.github_repository)
            found = _first_extension(cert, _REPOSITORY)
            claim(Check.GITHUB_REPOSITORY, given, found, lambda v: _repository_uri(v) == want)
        for check, value, numbers in (
            (Check.GITHUB_REF, self.github_ref, _REF),
            (Check.GITHUB_WORKFLOW_TRIGGER, self.github_workflow_trigger, _TRIGGER),
            (Check.GITHUB_SHA, self.github_sha, _SHA),
            (Check.RUNNER_ENVIRONMENT, self.runner_environment, _RUNNER),
        ):
            if value is not None:
                claim(check, value, _first_extension(cert, numbers), _equals(value))
        if self.github_workflow is not None:
            want_uri = _as_github_uri(self.github_workflow)
            found_uri = _first_extension(cert, _BUILD_SIGNER) or _github_san(cert)
            claim(Check.GITHUB_WORKFLOW, want_uri, found_uri, lambda v: v == want_uri)
        return failures

    def _check_identity(
        self, cert: x509.Certificate, failures: list[CheckFailure], where: str
    ) -> None:
        if not self.names_identity:
            return
        sans = subject_alternative_names(cert)
        pattern = self._identity_re
        if pattern is None:
            expected, ok = str(self.identity), any(s == self.identity for s in sans)
        else:
            expected = f"/{pattern.pattern}/ (whole value)"
            ok = any(pattern.fullmatch(s) is not None for s in sans)
        if not ok:
            failures.append(
                CheckFailure(
                    check=Check.IDENTITY.value,
                    expected=expected,
                    found=", ".join(sans) if sans else "(no subject alternative name)",
                    where=where,
                )
            )


def _equals(want: str) -> Callable[[str], bool]:
    return lambda found: found == want


def _repository_uri(value: str) -> str:
    """`OWNER/REPO` → `https://github.com/OWNER/REPO`; a URI (GitHub Enterprise) stays as is.

    The host is part of the claim: `gitlab.com/OWNER/REPO` (extension 1.12 of a GitLab CI
    certificate) is another repository than github.com's `OWNER/REPO`.
    """
    if value.startswith(("https://", "http://")):
        return value.rstrip("/")
    return _GITHUB + value.strip("/")


def _as_github_uri(value: str) -> str:
    return value if value.startswith(("https://", "http://")) else _GITHUB + value.lstrip("/")


def _github_san(cert: x509.Certificate) -> str | None:
    # Before extension 1.9 existed, a GitHub certificate's URI SAN was the build signer URI.
    return next((s for s in subject_alternative_names(cert) if s.startswith(_GITHUB)), None)
