"""From the action's inputs to requests: keychain, identity policy, trust, masks."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from shipsign.action.build import (
    build_keychain,
    build_policy,
    build_sign_request,
    build_trust,
    build_verify_request,
    derived_secrets,
)
from shipsign.action.inputs import parse_inputs, raw_secrets
from shipsign.action.outputs import error_annotation
from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy, ValueMatch
from shipsign.keyless.trust import Instance
from shipsign.secret import Secret
from shipsign.verify import SourceFormat

LOGINS = "docker.io alice hub-pass\n127.0.0.1:5000 bob local-pass\n"


def test_github_token_logs_in_to_ghcr_as_the_actor() -> None:
    inputs = parse_inputs({"INPUT_COMMAND": "verify", "INPUT_GITHUB-TOKEN": "ghs_abc"})
    keychain = build_keychain(inputs, {"GITHUB_ACTOR": "octocat"})
    cred = keychain.credential_for("ghcr.io")
    assert cred is not None
    assert (cred.username, cred.password) == ("octocat", Secret("ghs_abc"))
    assert keychain.credential_for("index.docker.io") is None
    fallback = build_keychain(inputs, {}).credential_for("ghcr.io")
    assert fallback is not None
    assert fallback.username == "x-access-token"


def test_registry_logins_and_an_explicit_ghcr_line_win() -> None:
    env = {
        "INPUT_COMMAND": "verify",
        "INPUT_GITHUB-TOKEN": "ghs_abc",
        "INPUT_REGISTRY-LOGINS": LOGINS + "ghcr.io me pat\n",
    }
    keychain = build_keychain(parse_inputs(env), {"GITHUB_ACTOR": "octocat"})
    hub = keychain.credential_for("index.docker.io")  # docker.io is Docker Hub's alias
    local = keychain.credential_for("127.0.0.1:5000")
    ghcr = keychain.credential_for("ghcr.io")
    assert hub is not None
    assert local is not None
    assert ghcr is not None
    assert (hub.username, hub.password) == ("alice", Secret("hub-pass"))
    assert (local.username, local.password) == ("bob", Secret("local-pass"))
    assert (ghcr.username, ghcr.password) == ("me", Secret("pat"))


def test_every_credential_is_found_for_masking_even_in_a_malformed_line() -> None:
    env = {
        "INPUT_COMMAND": "verify",
        "INPUT_GITHUB-TOKEN": "ghs_abc",
        "INPUT_REGISTRY-LOGINS": LOGINS + "# comment line\nquay.io carol\nhost user pass extra\n",
    }
    found = {s.reveal() for s in raw_secrets(env)}
    assert found == {"ghs_abc", "hub-pass", "local-pass", "carol", "user", "pass", "extra"}
    assert raw_secrets({}) == ()


def test_basic_auth_encodings_are_masked_too() -> None:
    inputs = parse_inputs(
        {
            "INPUT_COMMAND": "verify",
            "INPUT_GITHUB-TOKEN": "ghs_abc",
            "INPUT_REGISTRY-LOGINS": LOGINS,
        }
    )
    derived = {s.reveal() for s in derived_secrets(inputs, {"GITHUB_ACTOR": "octocat"})}
    assert base64.b64encode(b"alice:hub-pass").decode() in derived
    assert base64.b64encode(b"octocat:ghs_abc").decode() in derived
    assert len(derived) == 3


def test_identity_inputs_become_the_policy() -> None:
    env = {
        "INPUT_COMMAND": "verify",
        "INPUT_CERTIFICATE-IDENTITY-REGEXP": "https://github.com/acme/.*",
        "INPUT_CERTIFICATE-OIDC-ISSUER": "https://token.actions.githubusercontent.com",
        "INPUT_GITHUB-REF": "refs/tags/v1.2.3",
        "INPUT_RUNNER-ENVIRONMENT": "github-hosted",
    }
    (matcher,) = build_policy(parse_inputs(env)).alternatives
    assert matcher.identity is not None
    assert matcher.identity.pattern is not None
    assert matcher.identity.pattern.pattern == "https://github.com/acme/.*"
    assert matcher.issuer == ValueMatch(exact="https://token.actions.githubusercontent.com")
    assert matcher.github_ref == "refs/tags/v1.2.3"
    assert matcher.github_sha is None
    assert matcher.runner_environment == "github-hosted"


def test_unknown_runner_environment_is_named() -> None:
    with pytest.raises(InputError) as info:
        build_policy(
            parse_inputs({"INPUT_COMMAND": "verify", "INPUT_RUNNER-ENVIRONMENT": "laptop"})
        )
    assert "`runner-environment`" in info.value.what


def test_trust_inputs() -> None:
    assert build_trust(parse_inputs({"INPUT_COMMAND": "verify"})).instance is Instance.PRODUCTION
    assert build_trust(parse_inputs({"INPUT_COMMAND": "verify"})).trust_config is None
    staged = build_trust(
        parse_inputs(
            {"INPUT_COMMAND": "verify", "INPUT_STAGING": "true", "INPUT_TRUST-CONFIG": "t.json"}
        )
    )
    assert staged.instance is Instance.STAGING
    assert staged.trust_config == Path("t.json")


def test_verify_request() -> None:
    env = {
        "INPUT_COMMAND": "verify",
        "INPUT_IMAGES": "a.example/x@sha256:" + "0" * 64,
        "INPUT_FORMAT": "bundle",
        "INPUT_RECURSIVE": "true",
        "INPUT_INSECURE-REGISTRIES": "127.0.0.1:5000",
        "INPUT_CERTIFICATE-IDENTITY": "me",
    }
    inputs = parse_inputs(env)
    keychain = build_keychain(inputs, {})
    request = build_verify_request(inputs, keychain)
    assert request.keychain is keychain  # the use case builds its clients with the logins
    assert request.images == ("a.example/x@sha256:" + "0" * 64,)
    assert request.format is SourceFormat.BUNDLE
    assert request.recursive is True
    assert request.insecure_registries == ("127.0.0.1:5000",)
    assert request.policy == IdentityPolicy.exact(identity="me", issuer=None)


def test_sign_request_gets_its_tokens_from_the_source_so_it_can_renew_them() -> None:
    env = {"INPUT_COMMAND": "sign", "INPUT_IMAGES": "a.example/x@sha256:" + "0" * 64}
    inputs = parse_inputs(env)
    keychain = build_keychain(inputs, {})

    def source() -> Secret:
        return Secret("a.b.c")

    request = build_sign_request(inputs, source, keychain)
    assert request.identity_token is None  # an explicit token would turn renewal off
    assert request.identity_token_source is source
    assert request.keychain is keychain


def test_error_annotation_carries_the_details() -> None:
    exc = InputError("bad thing", where="input `x`", hint="fix it")
    title, message = error_annotation(exc)
    assert title == "shipsign: bad thing"
    assert message == "bad thing\nwhere: input `x`\nhint: fix it"
    title, message = error_annotation(KeyError("k"))
    assert title == "shipsign: internal error"
    assert message.startswith("KeyError: 'k'")
