"""`shipsign init`: a starter file from the GitHub context, read back as a valid policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipsign.cli import main
from shipsign.policy.config import load_config

CALLER = "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
SHARED = "acme/shared/.github/workflows/sign.yml@refs/heads/main"


def init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[int, str]:
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", CALLER)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/app")
    monkeypatch.chdir(tmp_path)
    return main(["init", *argv]), (tmp_path / ".shipsign.toml").read_text() if (
        tmp_path / ".shipsign.toml"
    ).exists() else ""


def test_release_workflow_signs_any_v_tag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = init(tmp_path, monkeypatch)
    assert code == 0
    entry = load_config(tmp_path / ".shipsign.toml").policies[0]
    assert entry.signer.identity_glob == (
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*"
    )
    policy = load_config(tmp_path / ".shipsign.toml").policy_for("ghcr.io/acme/app:v1")
    identity = policy.alternatives[0].identity
    assert identity is not None
    assert identity.matches(
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v2.0.0"
    )
    assert not identity.matches(
        "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    )
    assert "reusable" not in text
    assert init(tmp_path, monkeypatch)[0] == 2  # never overwrites without --force


def test_reusable_workflow_is_the_signer_and_the_caller_is_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = init(tmp_path, monkeypatch, "--job-workflow-ref", SHARED)
    assert code == 0
    signer = load_config(tmp_path / ".shipsign.toml").policies[0].signer
    assert signer.identity == "https://github.com/" + SHARED
    assert {f.value: v for f, v in signer.github.items()} == {"github_repository": "acme/app"}
    assert "reusable workflow" in text
    assert "repository claim" in text


def test_without_the_github_context_init_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_WORKFLOW_REF", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 2
    assert "GITHUB_WORKFLOW_REF" in capsys.readouterr().err
