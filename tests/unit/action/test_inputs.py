"""Parsing the runner's INPUT_* environment."""

from __future__ import annotations

import pytest

from shipsign.action.inputs import INPUT_NAMES, env_name, parse_inputs
from shipsign.errors import InputError


def test_env_name_keeps_hyphens() -> None:
    assert env_name("github-token") == "INPUT_GITHUB-TOKEN"
    assert env_name("a name") == "INPUT_A_NAME"


def test_command_is_required() -> None:
    with pytest.raises(InputError) as info:
        parse_inputs({"INPUT_IMAGES": "ghcr.io/a/b:v1"})
    assert "`command` is required" in info.value.what


def test_defaults() -> None:
    inputs = parse_inputs({"INPUT_COMMAND": "sign"})
    assert inputs.command == "sign"
    assert inputs.format == "both"
    assert inputs.verify_after_sign is True
    assert inputs.summary is True
    assert inputs.recursive is False
    assert inputs.images == ()
    assert inputs.github_token is None
    assert parse_inputs({"INPUT_COMMAND": "verify"}).format == "any"


def test_images_multiline_and_comma_separated() -> None:
    env = {
        "INPUT_COMMAND": "verify",
        "INPUT_IMAGES": "ghcr.io/a/b:v1, docker.io/a/b:v1\n\n# a comment\n"
        " quay.io/a/b@sha256:x  \n",
    }
    assert parse_inputs(env).images == (
        "ghcr.io/a/b:v1",
        "docker.io/a/b:v1",
        "quay.io/a/b@sha256:x",
    )


@pytest.mark.parametrize("value", ["yes", "True", "1", "on"])
def test_booleans_are_strict(value: str) -> None:
    with pytest.raises(InputError) as info:
        parse_inputs({"INPUT_COMMAND": "sign", "INPUT_RECURSIVE": value})
    assert "`recursive`" in info.value.what
    assert info.value.found == repr(value)


def test_unknown_command_and_format_named() -> None:
    with pytest.raises(InputError) as info:
        parse_inputs({"INPUT_COMMAND": "attest"})
    assert "`command`" in info.value.what
    with pytest.raises(InputError) as info:
        parse_inputs(
            {"INPUT_COMMAND": "sign", "INPUT_FORMAT": "any"}
        )  # `any` is a verify format, not a sign format
    assert "`format`" in info.value.what


def test_registry_logins_parse_and_hide_passwords() -> None:
    env = {
        "INPUT_COMMAND": "verify",
        "INPUT_REGISTRY-LOGINS": "docker.io alice s3cret-hub\nlocalhost:5000 bob pw2\n",
        "INPUT_GITHUB-TOKEN": "ghs_tokenvalue",
    }
    inputs = parse_inputs(env)
    assert [(x.host, x.username) for x in inputs.registry_logins] == [
        ("docker.io", "alice"),
        ("localhost:5000", "bob"),
    ]
    assert [s.reveal() for s in inputs.secrets()] == ["s3cret-hub", "pw2", "ghs_tokenvalue"]
    shown = repr(inputs) + str(inputs)
    for secret in ("s3cret-hub", "pw2", "ghs_tokenvalue"):
        assert secret not in shown


def test_malformed_login_line_never_echoes_the_password() -> None:
    with pytest.raises(InputError) as info:
        parse_inputs(
            {"INPUT_COMMAND": "sign", "INPUT_REGISTRY-LOGINS": "docker.io alice pass word"}
        )
    text = " ".join([info.value.what, info.value.expected, info.value.found])
    assert "line 1" in text
    assert "pass" not in text
    assert "HOST USERNAME PASSWORD" in text


def test_input_names_are_unique_and_kebab_case() -> None:
    assert len(set(INPUT_NAMES)) == len(INPUT_NAMES)
    assert all(n == n.lower() and " " not in n and "_" not in n for n in INPUT_NAMES)
