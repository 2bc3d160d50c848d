"""The fields of an identity policy and what each front end calls them: one table.

The CLI's parser, the Action's input reader, `build_identity_policy`, the README's option table
and `action.yml` all follow `POLICY_OPTIONS` (a test holds the last two to it). Standard library
only: the CLI's parser imports this module and `shipsign --help` must stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["POLICY_OPTIONS", "OptionSource", "PolicyField", "PolicyOption", "policy_option"]


class PolicyField(str, Enum):
    """One field of an identity alternative; the value is its name in a request mapping."""

    IDENTITY = "identity"
    IDENTITY_REGEXP = "identity_regexp"
    ISSUER = "issuer"
    ISSUER_REGEXP = "issuer_regexp"
    GITHUB_REPOSITORY = "github_repository"
    GITHUB_REF = "github_ref"
    GITHUB_WORKFLOW_TRIGGER = "github_workflow_trigger"
    GITHUB_SHA = "github_sha"
    GITHUB_WORKFLOW = "github_workflow"
    RUNNER_ENVIRONMENT = "runner_environment"

    def __str__(self) -> str:
        return self.value


class OptionSource(str, Enum):
    """Where a policy's values came from, so that an error names the option as the user wrote it."""

    CLI = "cli"
    ACTION = "action"
    CONFIG = "config"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyOption:
    """One field and its names: CLI flag, Action input, policy-file key."""

    field: PolicyField
    flag: str  # --certificate-identity
    input: str  # certificate-identity (action.yml)
    key: str  # identity (a `[[identity]]` entry of the policy file)
    metavar: str
    help: str
    regexp: bool = False  # a regular expression that must match the whole value
    choices: tuple[str, ...] = ()  # the only values accepted (checked by the policy builder)

    def label(self, source: OptionSource) -> str:
        """The option as `source` spells it, for error messages."""
        if source is OptionSource.ACTION:
            return f"input `{self.input}`"
        if source is OptionSource.CONFIG:
            return f"key `{self.key}`"
        return self.flag


POLICY_OPTIONS: tuple[PolicyOption, ...] = (
    PolicyOption(
        field=PolicyField.IDENTITY,
        flag="--certificate-identity",
        input="certificate-identity",
        key="identity",
        metavar="ID",
        help="the exact signer identity (SAN)",
    ),
    PolicyOption(
        field=PolicyField.IDENTITY_REGEXP,
        flag="--certificate-identity-regexp",
        input="certificate-identity-regexp",
        key="identity-regexp",
        metavar="RE",
        help="a regexp for the signer identity",
        regexp=True,
    ),
    PolicyOption(
        field=PolicyField.ISSUER,
        flag="--certificate-oidc-issuer",
        input="certificate-oidc-issuer",
        key="issuer",
        metavar="URL",
        help="the exact OIDC issuer of the identity",
    ),
    PolicyOption(
        field=PolicyField.ISSUER_REGEXP,
        flag="--certificate-oidc-issuer-regexp",
        input="certificate-oidc-issuer-regexp",
        key="issuer-regexp",
        metavar="RE",
        help="a regexp for the OIDC issuer",
        regexp=True,
    ),
    PolicyOption(
        field=PolicyField.GITHUB_REPOSITORY,
        flag="--github-repository",
        input="github-repository",
        key="github.repository",
        metavar="OWNER/REPO",
        help="the workflow's repository",
    ),
    PolicyOption(
        field=PolicyField.GITHUB_REF,
        flag="--github-ref",
        input="github-ref",
        key="github.ref",
        metavar="REF",
        help="the git ref, e.g. refs/tags/v1.2.3",
    ),
    PolicyOption(
        field=PolicyField.GITHUB_WORKFLOW_TRIGGER,
        flag="--github-workflow-trigger",
        input="github-workflow-trigger",
        key="github.workflow-trigger",
        metavar="EVENT",
        help="the event, e.g. push or release",
    ),
    PolicyOption(
        field=PolicyField.GITHUB_SHA,
        flag="--github-sha",
        input="github-sha",
        key="github.sha",
        metavar="SHA",
        help="the commit the workflow ran on",
    ),
    PolicyOption(
        field=PolicyField.GITHUB_WORKFLOW,
        flag="--github-workflow",
        input="github-workflow",
        key="github.workflow",
        metavar="URI",
        help="the build signer URI: https://github.com/OWNER/REPO/.github/workflows/F@REF",
    ),
    PolicyOption(
        field=PolicyField.RUNNER_ENVIRONMENT,
        flag="--runner-environment",
        input="runner-environment",
        key="github.runner-environment",
        metavar="ENV",
        help="where the workflow ran: github-hosted or self-hosted",
        choices=("github-hosted", "self-hosted"),
    ),
)

_BY_FIELD = {option.field: option for option in POLICY_OPTIONS}


def policy_option(field: PolicyField) -> PolicyOption:
    """The table row of `field`."""
    return _BY_FIELD[field]
