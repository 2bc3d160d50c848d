"""The inputs of `command: gate`, `verify-release` and sign's `github-release`: parsed, checked
against the command, and turned into the use cases' requests (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipsign.action.build import (
    build_gate_request,
    build_github_settings,
    build_release_target,
    build_verify_release_request,
)
from shipsign.action.inputs import parse_inputs
from shipsign.action.outputs import OUTPUT_NAMES, error_annotation, finish_outputs
from shipsign.errors import InputError
from shipsign.gate.comment import CommentMode
from shipsign.gate.markdown import DEFAULT_CHECK_NAME
from shipsign.github_api import DEFAULT_API_URL, GitHubError
from shipsign.secret import Secret


def gate(**inputs: str) -> dict[str, str]:
    env = {"INPUT_COMMAND": "gate"}
    env.update({f"INPUT_{k.replace('_', '-').upper()}": v for k, v in inputs.items()})
    return env


def test_gate_defaults() -> None:
    inputs = parse_inputs(gate())
    assert inputs.command == "gate"
    assert (inputs.paths, inputs.base) == ((), "")
    assert (inputs.require_policy, inputs.require_digest) == (False, False)
    assert (inputs.comment, inputs.check_name) == ("on-failure", DEFAULT_CHECK_NAME)
    assert inputs.format == ""


def test_gate_inputs_become_the_request(tmp_path: Path) -> None:
    env = gate(
        paths="deploy/\n# not this one\nclusters/prod\n",
        base="origin/main",
        require_policy="true",
        require_digest="true",
        comment="always",
        check_name="  images   prod ",
        trust_config="trust.json",
        insecure_registries="127.0.0.1:5000",
    )
    env |= {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_RUN_ID": "42",
    }
    request = build_gate_request(parse_inputs(env), env, None, root=tmp_path)
    assert request.root == tmp_path
    assert request.paths == ("deploy/", "clusters/prod")
    assert request.base == "origin/main"
    assert (request.pull_request, request.repository) == (None, None)  # the event's
    assert request.options.require_policy
    assert request.options.require_digest
    assert request.options.trust.trust_config == Path("trust.json")
    assert request.options.insecure_registries == ("127.0.0.1:5000",)
    assert request.report is not None
    assert (request.report.name, request.report.comment) == ("images prod", CommentMode.ALWAYS)
    assert request.report.details_url == "https://github.com/acme/app/actions/runs/42"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"INPUT_IMAGES": "ghcr.io/a/b:v1"}, "`images`"),
        ({"INPUT_FILES": "dist/*"}, "`files`"),
        ({"INPUT_TAGS": "v1"}, "`tags`"),
        ({"INPUT_GITHUB-RELEASE": "auto"}, "`github-release`"),
        ({"INPUT_FORMAT": "bundle"}, "`format`"),
        ({"INPUT_CERTIFICATE-IDENTITY": "https://x"}, "`certificate-identity`"),
        ({"INPUT_COMMENT": "sometimes"}, "`comment`"),
    ],
)
def test_gate_refuses_what_it_would_ignore(given: dict[str, str], named: str) -> None:
    with pytest.raises(InputError) as info:
        parse_inputs(gate() | given)
    assert named in info.value.what


@pytest.mark.parametrize(
    "given",
    [
        {"INPUT_PATHS": "deploy"},
        {"INPUT_BASE": "main"},
        {"INPUT_REQUIRE-POLICY": "true"},
        {"INPUT_REQUIRE-DIGEST": "true"},
    ],
)
@pytest.mark.parametrize("command", ["sign", "verify"])
def test_gate_inputs_are_for_the_gate(command: str, given: dict[str, str]) -> None:
    with pytest.raises(InputError) as info:
        parse_inputs({"INPUT_COMMAND": command, **given})
    assert "is for `command: gate`" in info.value.what


def test_release_inputs_need_a_release() -> None:
    for name in ("CREATE-RELEASE", "UPLOAD-FILES"):
        with pytest.raises(InputError) as info:
            parse_inputs({"INPUT_COMMAND": "sign", f"INPUT_{name}": "true"})
        assert "need `github-release`" in info.value.what
    with pytest.raises(InputError) as info:
        parse_inputs({"INPUT_COMMAND": "verify", "INPUT_GITHUB-RELEASE": "v1"})
    assert "`github-release` is for `command: sign or verify-release`" in info.value.what
    with pytest.raises(InputError) as info:
        parse_inputs({"INPUT_COMMAND": "verify-release"})
    assert "`github-release` is required" in info.value.what


def test_auto_is_the_tag_that_started_the_workflow() -> None:
    env = {
        "INPUT_COMMAND": "sign",
        "INPUT_FILES": "dist/*",
        "INPUT_GITHUB-RELEASE": "auto",
        "INPUT_CREATE-RELEASE": "true",
        "INPUT_UPLOAD-FILES": "true",
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_REF": "refs/tags/v2.7.0",
    }
    target = build_release_target(parse_inputs(env), env)
    assert (target.repository, target.tag) == ("acme/app", "v2.7.0")
    assert (target.create, target.upload_files, target.force) == (True, True, False)
    other = env | {"INPUT_RELEASE-REPOSITORY": "acme/cli", "INPUT_GITHUB-RELEASE": "v1.0.0"}
    target = build_release_target(parse_inputs(other), other)
    assert (target.repository, target.tag) == ("acme/cli", "v1.0.0")


def test_auto_on_a_branch_says_why() -> None:
    env = {
        "INPUT_COMMAND": "sign",
        "INPUT_GITHUB-RELEASE": "auto",
        "GITHUB_REPOSITORY": "acme/app",
        "GITHUB_REF": "refs/heads/main",
    }
    with pytest.raises(InputError) as info:
        build_release_target(parse_inputs(env), env)
    title, message = error_annotation(info.value)
    assert "auto needs a workflow started by a tag" in title
    assert "found: refs/heads/main" in message


def test_verify_release_request() -> None:
    env = {
        "INPUT_COMMAND": "verify-release",
        "INPUT_GITHUB-RELEASE": "v2.7.0",
        "INPUT_RELEASE-REPOSITORY": "fluxcd/flux2",
        "INPUT_ALLOW-UNSIGNED": "*.txt\nREADME*\n",
        "INPUT_CERTIFICATE-IDENTITY": "https://github.com/fluxcd/flux2/.github/workflows/r.yml@x",
        "INPUT_CERTIFICATE-OIDC-ISSUER": "https://token.actions.githubusercontent.com",
    }
    request = build_verify_release_request(parse_inputs(env), env)
    assert (request.repository, request.tag) == ("fluxcd/flux2", "v2.7.0")
    assert request.allow_unsigned == ("*.txt", "README*")
    assert request.policy.names_identity


def test_github_settings_take_the_input_token_and_the_api_url() -> None:
    env = {
        "INPUT_COMMAND": "gate",
        "INPUT_GITHUB-TOKEN": "ghs_input",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_TOKEN": "ghs_environment",  # not the input: never used
    }
    settings = build_github_settings(parse_inputs(env), env, needed_by="the gate")
    assert settings.token == Secret("ghs_input")
    assert settings.api_url == "https://ghe.example.com/api/v3"
    bare = {"INPUT_COMMAND": "verify-release", "INPUT_GITHUB-RELEASE": "v1"}
    anonymous = build_github_settings(
        parse_inputs(bare), bare, needed_by="verify-release", anonymous=True
    )
    assert (anonymous.token, anonymous.api_url) == (Secret(""), DEFAULT_API_URL)
    with pytest.raises(InputError) as info:
        build_github_settings(parse_inputs(bare), bare, needed_by="input `github-release`")
    assert info.value.what == "input `github-release` needs a GitHub token"


def test_a_refused_permission_is_named_in_the_annotation() -> None:
    exc = GitHubError(
        "GitHub refused to let the token create a release",
        status=403,
        permission="contents: write",
        hint="the token lacks `contents: write`: add it to the job's `permissions:`. "
        "A workflow run from a fork only ever gets a read-only token.",
    )
    title, message = error_annotation(exc)
    assert title == "shipsign: GitHub refused to let the token create a release"
    assert "the token lacks `contents: write`" in message


def test_every_new_output_has_a_value_after_a_fatal_error() -> None:
    outputs = finish_outputs({"result": json.dumps({"ok": False})}, 2, "")
    assert list(outputs) == list(OUTPUT_NAMES)
    assert (outputs["uploaded"], outputs["failing"], outputs["images"]) == ("0", "0", "0")
    assert (outputs["conclusion"], outputs["release-url"]) == ("", "")
