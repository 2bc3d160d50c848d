"""`shipsign gate` from the command line: with a base and no token (a local run), and in a
pull request's workflow with a token (the check run and the comment), exit codes as verify's."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from integration.gate.test_gate_end_to_end import (
    IMAGE_LINE,
    REPO,
    deployment,
    make_change,
)
from integration.verify.signed_images import new_image, run_cli, sign_image
from shipsign.keyless.signing import KeylessSigner
from shipsign.oci import Registries
from stack.github_api import FakeGitHub
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.fixture
def no_github(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_TOKEN", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)


def _argv(stack: SigstoreStack, host: str, *extra: str) -> list[str]:
    return [
        "gate",
        "--trusted-root",
        str(stack.trusted_root),
        "--insecure-registry",
        host,
        *extra,
    ]


def test_a_local_run_against_a_base_needs_no_token(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_github: None,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    good = new_image(registry, f"acme/api-{secrets.token_hex(3)}")
    sign_image(good, signer, "legacy", None)
    bad = new_image(registry, f"acme/db-{secrets.token_hex(3)}")
    change = make_change(
        tmp_path,
        registry.host,
        github_oidc.san,
        {
            "deploy/api.yaml": deployment("api", good.ref),
            "deploy/db.yaml": deployment("db", bad.ref),
        },
    )
    monkeypatch.chdir(change.root / "deploy")  # the config is found walking up; paths too
    run = run_cli(capsys, _argv(sigstore_stack, registry.host, "--base", change.base))
    assert run.code == 1, run.out + run.err
    assert f"✘ {bad.ref}: unsigned" in run.out
    assert f"used in deploy/db.yaml:{IMAGE_LINE}" in run.out
    assert f"✔ {good.ref}: passed" in run.out
    assert f"git diff {change.base}" in run.out

    only_good = run_cli(
        capsys, _argv(sigstore_stack, registry.host, "--output", "json", "deploy/api.yaml")
    )
    assert only_good.code == 0, only_good.out + only_good.err
    doc = json.loads(only_good.out)
    assert doc["conclusion"] == "success"
    assert [(i["image"], i["verdict"]) for i in doc["images"]] == [(good.ref, "passed")]


def test_a_pull_request_run_reports_on_github(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    registry: Registry,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
    github_env: dict[str, str],
) -> None:
    fake_github.add_repo(REPO)
    bad = new_image(registry, f"acme/web-{secrets.token_hex(3)}")
    change = make_change(
        tmp_path, registry.host, github_oidc.san, {"deploy/web.yaml": deployment("web", bad.ref)}
    )
    fake_github.add_pull(
        REPO,
        12,
        head_sha=change.head,
        files=[{"filename": "deploy/web.yaml", "status": "added"}],
        head_repo=REPO,
    )
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 12,
                    "head": {"sha": change.head, "repo": {"full_name": REPO}},
                    "base": {"sha": change.base, "repo": {"full_name": REPO}},
                }
            }
        )
    )
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(change.root)
    run = run_cli(capsys, _argv(sigstore_stack, registry.host))
    assert run.code == 1, run.out + run.err
    (check,) = fake_github.check_runs(REPO)
    assert (check.head_sha, check.conclusion) == (change.head, "failure")
    assert [(a["path"], a["start_line"]) for a in check.annotations] == [
        ("deploy/web.yaml", IMAGE_LINE)
    ]
    (comment,) = fake_github.comments(REPO)
    assert comment.issue == 12
    assert "::error" not in run.out  # the check run carries the annotations
    assert bad.ref.split("@")[0] in summary.read_text()
    assert github_env["GITHUB_TOKEN"] not in run.out + run.err + summary.read_text()


def test_hostile_files_in_the_change_are_reported_and_the_rest_still_runs(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_github: None,
    registry: Registry,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    good = new_image(registry, f"acme/ok-{secrets.token_hex(3)}")
    sign_image(good, signer, "legacy", None)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    outside = tmp_path / "outside.yaml"
    outside.write_text(deployment("leak", "ghcr.io/evil/leak:1"))
    change = make_change(
        tmp_path,
        registry.host,
        github_oidc.san,
        {
            "deploy/app.yaml": deployment("app", good.ref),
            "deploy/broken.yaml": "kind: Deployment\nspec: [unclosed\n",
            "deploy/bomb.yaml": bomb,
            "deploy/binary.yaml": "\x00\x01\x02 not yaml",
        },
    )
    (change.root / "deploy" / "link.yaml").symlink_to(outside)
    monkeypatch.chdir(change.root)
    run = run_cli(capsys, _argv(sigstore_stack, registry.host, "--output", "json", "deploy"))
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert [(i["image"], i["verdict"]) for i in doc["images"]] == [(good.ref, "passed")]
    problems = {p["file"]: p["reason"] for p in doc["problems"]}
    assert set(problems) == {
        "deploy/broken.yaml",
        "deploy/bomb.yaml",
        "deploy/binary.yaml",
        "deploy/link.yaml",
    }, problems
    assert all(reason for reason in problems.values())
    assert "ghcr.io/evil" not in run.out
