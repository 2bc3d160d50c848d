"""Any-of identity policies and the one builder every front end uses, on real certificates."""

from __future__ import annotations

import pytest
from cryptography import x509

from interop.corpus import load_case
from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.policy_options import POLICY_OPTIONS, OptionSource, PolicyField

GHA = x509.load_pem_x509_certificate(load_case("legacy-doc-salrashid-gha-2026").read("cert.pem"))
EMAIL = x509.load_pem_x509_certificate(load_case("legacy-ci-fulcio-rekor-prod").read("cert.pem"))
GHA_SAN = (
    "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml"
    "@refs/tags/v0.0.30"
)
ACTIONS = "https://token.actions.githubusercontent.com"
WHERE = "test certificate"

RELEASE = {"identity": GHA_SAN, "issuer": ACTIONS, "github_ref": "refs/tags/v0.0.30"}
MAINTAINER = {"identity": "mitr@redhat.com", "issuer": "https://github.com/login/oauth"}
OTHER_REPO = {"identity_regexp": r"https://github\.com/acme/.*", "issuer": ACTIONS}


def test_a_certificate_passes_when_any_alternative_matches() -> None:
    policy = build_identity_policy([MAINTAINER, RELEASE])
    assert policy.names_identity
    assert policy.check(GHA, where=WHERE) == []
    assert policy.check(EMAIL, where=WHERE) == []
    assert build_identity_policy([OTHER_REPO, MAINTAINER]).check(EMAIL, where=WHERE) == []


def test_when_none_matches_each_alternative_says_why() -> None:
    policy = build_identity_policy([MAINTAINER, OTHER_REPO])
    failures = policy.check(GHA, where=WHERE)
    assert [(f.check, f.expected, f.found) for f in failures] == [
        ("identity", "alternative 1 of 2: mitr@redhat.com", GHA_SAN),
        ("issuer", "alternative 1 of 2: https://github.com/login/oauth", ACTIONS),
        ("identity", r"alternative 2 of 2: /https://github\.com/acme/.*/ (whole value)", GHA_SAN),
    ]
    assert all(f.where == WHERE for f in failures)


def test_one_alternative_reports_as_before() -> None:
    (failure,) = build_identity_policy([MAINTAINER | {"issuer": ACTIONS}]).check(EMAIL, where=WHERE)
    assert (failure.check, failure.expected) == ("issuer", ACTIONS)


def test_a_failing_claim_in_one_alternative_does_not_leak_into_another() -> None:
    # RELEASE's ref does not hold for a tag build of another ref; the second alternative, with
    # no ref pinned, still accepts the certificate.
    wrong_ref = RELEASE | {"github_ref": "refs/heads/main"}
    assert build_identity_policy([wrong_ref]).check(GHA, where=WHERE) != []
    assert build_identity_policy([wrong_ref, {"identity": GHA_SAN}]).check(GHA, where=WHERE) == []


def test_every_alternative_must_name_an_identity_for_keyless_verification() -> None:
    assert not build_identity_policy([RELEASE, {"issuer": ACTIONS}]).names_identity
    assert not IdentityPolicy().names_identity
    assert IdentityPolicy().check(GHA, where=WHERE) == []  # the empty policy: key-based only


def test_alternatives_that_give_nothing_are_dropped() -> None:
    unset = {option.field.value: "" for option in POLICY_OPTIONS}  # the Action's unset inputs
    assert build_identity_policy([unset]) == IdentityPolicy()
    assert build_identity_policy([{"identity": None}, MAINTAINER]) == build_identity_policy(
        [MAINTAINER]
    )


@pytest.mark.parametrize(
    ("source", "what"),
    [
        (OptionSource.CLI, "--runner-environment has an unknown value"),
        (OptionSource.ACTION, "input `runner-environment` has an unknown value"),
        (OptionSource.CONFIG, "key `github.runner-environment` has an unknown value"),
    ],
)
def test_runner_environment_values_are_checked_by_the_builder(
    source: OptionSource, what: str
) -> None:
    with pytest.raises(InputError) as info:
        build_identity_policy([{"runner_environment": "laptop"}], source=source)
    assert info.value.what == what
    assert info.value.expected == "github-hosted | self-hosted"
    assert info.value.found == "'laptop'"
    for value in ("github-hosted", "self-hosted"):
        build_identity_policy([{"runner_environment": value}], source=source)


def test_errors_name_the_option_as_the_front_end_spells_it() -> None:
    both = {"identity": "a", "identity_regexp": "a"}
    with pytest.raises(InputError) as cli:
        build_identity_policy([both])
    assert (
        cli.value.what == "give --certificate-identity or --certificate-identity-regexp, not both"
    )
    assert cli.value.found == "--certificate-identity 'a' and --certificate-identity-regexp 'a'"
    with pytest.raises(InputError) as action:
        build_identity_policy([{"issuer_regexp": "("}], source=OptionSource.ACTION)
    assert action.value.what == (
        "invalid regular expression for input `certificate-oidc-issuer-regexp`"
    )


def test_an_error_in_one_of_several_alternatives_says_which() -> None:
    with pytest.raises(InputError) as info:
        build_identity_policy([MAINTAINER, {"identity_regexp": "["}], source=OptionSource.CONFIG)
    assert info.value.what == "invalid regular expression for key `identity-regexp`"
    assert info.value.where == "identity alternative 2 of 2"


def test_an_unknown_field_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown identity policy field 'subject'"):
        build_identity_policy([{"subject": "x"}])


def test_every_field_has_one_row() -> None:
    assert [option.field for option in POLICY_OPTIONS] == list(PolicyField)
    for attribute in ("flag", "input", "key"):
        names = [getattr(option, attribute) for option in POLICY_OPTIONS]
        assert len(set(names)) == len(names), attribute
