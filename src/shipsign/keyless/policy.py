"""The identity policy: which signers and which workflows a certificate may name.

A policy is any of several alternatives (`IdentityMatcher`), each an identity, an issuer and
GitHub workflow claims. One policy object serves both formats. Every mismatch is reported, for
each alternative, with what was expected and what the certificate says. Regular expressions
must match the whole value (unlike cosign's). `build_identity_policy` is the one place a policy
is made from user input, whatever the front end (`policy_options.POLICY_OPTIONS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from cryptography import x509

from shipsign.checks import Check, CheckFailure
from shipsign.errors import InputError
from shipsign.keyless.fulcio_identity import (
    certificate_issuer,
    fulcio_extension,
    subject_alternative_names,
)
from shipsign.keyless.policy_options import (
    POLICY_OPTIONS,
    OptionSource,
    PolicyField,
    policy_option,
)

__all__ = ["IdentityMatcher", "IdentityPolicy", "ValueMatch", "build_identity_policy"]

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


@dataclass(frozen=True, slots=True)
class ValueMatch:
    """An exact value, or a regular expression that must match the whole value."""

    exact: str | None = None
    pattern: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        if (self.exact is None) == (self.pattern is None):
            raise ValueError("a ValueMatch is an exact value or a pattern")

    def matches(self, value: str) -> bool:
        """True when `value` is the exact value, or the pattern matches all of it."""
        if self.pattern is not None:
            return self.pattern.fullmatch(value) is not None
        return value == self.exact

    def describe(self) -> str:
        """What a failure report shows as expected."""
        if self.pattern is not None:
            return f"/{self.pattern.pattern}/ (whole value)"
        return str(self.exact)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityMatcher:
    """One allowed signer: identity (SAN), OIDC issuer and GitHub workflow claims; None: any."""

    identity: ValueMatch | None = None
    issuer: ValueMatch | None = None
    github_repository: str | None = None  # OWNER/REPO, or a URI (GitHub Enterprise)
    github_ref: str | None = None
    github_workflow_trigger: str | None = None
    github_sha: str | None = None
    github_workflow: str | None = None  # build signer URI: https://github.com/OWNER/REPO/...@ref
    runner_environment: str | None = None  # github-hosted | self-hosted

    @property
    def names_identity(self) -> bool:
        """True when this alternative pins the signer's identity (exactly or by regexp)."""
        return self.identity is not None

    def check(self, cert: x509.Certificate, *, where: str) -> list[CheckFailure]:
        """Return every way `cert` differs from this alternative (empty when it satisfies it)."""
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
        if self.issuer is not None:
            claim(
                Check.ISSUER, self.issuer.describe(), certificate_issuer(cert), self.issuer.matches
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
        if self.identity is None:
            return
        sans = subject_alternative_names(cert)
        if not any(self.identity.matches(s) for s in sans):
            failures.append(
                CheckFailure(
                    check=Check.IDENTITY.value,
                    expected=self.identity.describe(),
                    found=", ".join(sans) if sans else "(no subject alternative name)",
                    where=where,
                )
            )


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Any of `alternatives`: a certificate passes when it satisfies one of them.

    No alternatives is the empty policy: it checks nothing, and keyless verification refuses it
    (`names_identity` is False); key-based verification needs no identity. Build one from
    user input with `build_identity_policy`.
    """

    alternatives: tuple[IdentityMatcher, ...] = ()

    @classmethod
    def exact(cls, *, identity: str, issuer: str | None) -> IdentityPolicy:
        """The policy of one signer, named exactly (e.g. the identity we just signed with)."""
        return cls(
            (
                IdentityMatcher(
                    identity=ValueMatch(exact=identity),
                    issuer=None if issuer is None else ValueMatch(exact=issuer),
                ),
            )
        )

    @property
    def names_identity(self) -> bool:
        """True when every alternative pins the signer's identity (and there is one)."""
        return bool(self.alternatives) and all(a.names_identity for a in self.alternatives)

    def check(self, cert: x509.Certificate, *, where: str) -> list[CheckFailure]:
        """Empty when `cert` satisfies some alternative; else why each one did not match.

        Every alternative is evaluated, so a check that raises fails the whole policy (closed).
        With several alternatives, each failure's `expected` starts with `alternative I of N:`.
        """
        results = [alternative.check(cert, where=where) for alternative in self.alternatives]
        if not results or any(not failures for failures in results):
            return []
        if len(results) == 1:
            return results[0]
        n = len(results)
        return [
            replace(failure, expected=f"alternative {i} of {n}: {failure.expected}")
            for i, failures in enumerate(results, start=1)
            for failure in failures
        ]


def build_identity_policy(
    alternatives: Iterable[Mapping[str, str | None]], *, source: OptionSource = OptionSource.CLI
) -> IdentityPolicy:
    """The one way to make a policy from user input: one mapping per alternative, keyed by
    `PolicyField` values; None or "" means "not given". An alternative that gives nothing is
    dropped. Errors name each option as `source` spells it (see `POLICY_OPTIONS`).

    Raises `InputError` for an unknown field, an exact value and a regexp for the same claim,
    an invalid regexp, or a value outside a field's choices.
    """
    given = [
        {name: value for name, value in alternative.items() if value}
        for alternative in alternatives
    ]
    given = [values for values in given if values]
    matchers = tuple(
        _build_matcher(values, source=source, where=_alternative(i, len(given)))
        for i, values in enumerate(given, start=1)
    )
    return IdentityPolicy(matchers)


def _alternative(i: int, n: int) -> str:
    return f"identity alternative {i} of {n}" if n > 1 else ""


def _build_matcher(
    values: Mapping[str, str], *, source: OptionSource, where: str
) -> IdentityMatcher:
    fields: dict[PolicyField, str] = {}
    for name, value in values.items():
        try:
            field_ = PolicyField(name)
        except ValueError:
            raise InputError(
                f"unknown identity policy field {name!r}",
                where=where,
                expected=", ".join(o.key for o in POLICY_OPTIONS),
            ) from None
        option = policy_option(field_)
        if option.choices and value not in option.choices:
            raise InputError(
                f"{option.label(source)} has an unknown value",
                where=where,
                expected=" | ".join(option.choices),
                found=repr(value),
            )
        fields[field_] = value
    F = PolicyField
    return IdentityMatcher(
        identity=_value_match(fields, F.IDENTITY, F.IDENTITY_REGEXP, source, where),
        issuer=_value_match(fields, F.ISSUER, F.ISSUER_REGEXP, source, where),
        github_repository=fields.get(F.GITHUB_REPOSITORY),
        github_ref=fields.get(F.GITHUB_REF),
        github_workflow_trigger=fields.get(F.GITHUB_WORKFLOW_TRIGGER),
        github_sha=fields.get(F.GITHUB_SHA),
        github_workflow=fields.get(F.GITHUB_WORKFLOW),
        runner_environment=fields.get(F.RUNNER_ENVIRONMENT),
    )


def _value_match(
    fields: Mapping[PolicyField, str],
    exact_field: PolicyField,
    regexp_field: PolicyField,
    source: OptionSource,
    where: str,
) -> ValueMatch | None:
    exact, pattern = fields.get(exact_field), fields.get(regexp_field)
    exact_name = policy_option(exact_field).label(source)
    regexp_name = policy_option(regexp_field).label(source)
    if exact is not None and pattern is not None:
        raise InputError(
            f"give {exact_name} or {regexp_name}, not both",
            where=where,
            found=f"{exact_name} {exact!r} and {regexp_name} {pattern!r}",
        )
    if exact is not None:
        return ValueMatch(exact=exact)
    if pattern is None:
        return None
    try:
        return ValueMatch(pattern=re.compile(pattern))
    except re.error as exc:
        raise InputError(
            f"invalid regular expression for {regexp_name}",
            where=where,
            found=f"{pattern!r}: {exc}",
            expected="a Python regular expression (matched against the whole value)",
        ) from exc


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
