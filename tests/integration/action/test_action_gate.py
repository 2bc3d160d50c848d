"""The shipsign step of `.github/workflows/examples/pr-gate.yml`, run as the runner runs it on a
pull request: a git clone with a `.shipsign.toml` in the workspace, the pull request's event
payload, the pull request on the fake GitHub, images in the local registry signed on the local
Sigstore stack. Only what the local stack needs is added to the example's inputs (the trust
config and the plain-HTTP registry). A good change passes; a bad one fails with a check run
annotated on the right lines and one comment; a fork's read-only token falls back to `::error`
lines in the log and the step summary. The token appears nowhere."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from integration.action.example_step import example_step, run_step, runner_env, triggers
from integration.action.runner import ActionRun
from integration.gate.test_gate_end_to_end import Change, make_change, signed
from integration.verify.signed_images import new_image
from shipsign.action.outputs import OUTPUT_NAMES
from shipsign.keyless.signing import KeylessSigner
from shipsign.oci import Registries
from stack.github_api import READ_ONLY, FakeGitHub
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

REPO = "acme/app"
NUMBER = 7
IMAGE_LINE = 11  # the line of `image:` in `pod()`


def pod(name: str, image: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: apps
spec:
  securityContext:
    runAsNonRoot: true
  containers:
    - name: {name}
      image: {image}
"""


def open_pull_request(
    tmp_path: Path,
    fake: FakeGitHub,
    host: str,
    identity: str,
    files: dict[str, str],
    *,
    head_repo: str = REPO,
) -> Change:
    """The gate tests' change (a clone whose main holds the policy file, a head commit adding
    `files`), and the pull request for it on the fake GitHub."""
    change = make_change(tmp_path, host, identity, files, name="workspace")
    fake.add_pull(
        REPO,
        NUMBER,
        head_sha=change.head,
        files=[{"filename": f, "status": "added"} for f in files],
        head_repo=head_repo,
    )
    return change


def event_payload(path: Path, pull: Change, head_repo: str) -> Path:
    """What GitHub writes to GITHUB_EVENT_PATH for a `pull_request` event (the parts read)."""
    doc = {
        "action": "synchronize",
        "number": NUMBER,
        "pull_request": {
            "number": NUMBER,
            "head": {"sha": pull.head, "ref": "feature", "repo": {"full_name": head_repo}},
            "base": {"sha": pull.base, "ref": "main", "repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def gate_step(
    tmp_path: Path,
    pull: Change,
    fake: FakeGitHub,
    stack: SigstoreStack,
    registry: Registry,
    token: str,
    *,
    head_repo: str = REPO,
) -> dict[str, str]:
    """The runner's environment for the example's gate step on this pull request."""
    workflow, step = example_step("pr-gate.yml", "gate")
    assert "pull_request" in triggers(workflow)
    return runner_env(
        step,
        {"github.token": token},
        extra_inputs={
            "trust-config": str(stack.trust_config),
            "insecure-registries": registry.host,
        },
        tmp_path=tmp_path / "runner",
        GITHUB_API_URL=fake.api_url,
        GITHUB_SERVER_URL=fake.url,
        GITHUB_REPOSITORY=REPO,
        GITHUB_RUN_ID="4242",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event_payload(tmp_path / "event.json", pull, head_repo)),
        GITHUB_WORKSPACE=str(pull.root),
        GITHUB_SHA="f" * 40,  # the test merge commit: never where the check run goes
    )


def assert_outputs(run: ActionRun, *, conclusion: str, failing: int, images: int) -> None:
    assert list(run.outputs) == list(OUTPUT_NAMES)
    assert run.outputs["conclusion"] == conclusion
    assert run.outputs["failing"] == str(failing)
    assert run.outputs["images"] == str(images)
    assert run.outputs["exit-code"] == str(run.code)
    assert json.loads(run.outputs["result"])["conclusion"] == conclusion


def test_a_change_deploying_a_signed_image_passes(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = signed(registry, signer, pool, "api")
    files = {"deploy/api.yaml": pod("api", image.ref)}
    pull = open_pull_request(tmp_path, fake_github, registry.host, github_oidc.san, files)
    token = fake_github.add_token()
    env = gate_step(tmp_path, pull, fake_github, sigstore_stack, registry, token)
    run = run_step(env, monkeypatch, capsys)

    assert run.code == 0, run.stdout + run.stderr
    assert_outputs(run, conclusion="success", failing=0, images=1)
    assert run.outputs["verified"] == "true"
    assert run.errors() == []
    (check,) = fake_github.check_runs(REPO)
    assert (check.name, check.head_sha, check.conclusion) == ("shipsign gate", pull.head, "success")
    assert check.details_url == f"{fake_github.url}/{REPO}/actions/runs/4242"
    assert fake_github.comments(REPO) == []  # comment: on-failure, and nothing failed
    assert f"signed by {github_oidc.san}" in run.stdout
    assert image.ref.split("@")[0] in run.summary
    # The changed files came from the pull request; nothing was written but the check run.
    writes = [(r.method, r.path) for r in fake_github.requests() if r.method != "GET"]
    assert writes == [("POST", f"/api/v3/repos/{REPO}/check-runs")]
    assert fake_github.requests("GET", rf"/pulls/{NUMBER}/files$")
    assert {r.auth for r in fake_github.requests()} == {"token"}
    run.assert_masked([token])


def test_a_bad_change_fails_with_a_check_run_on_the_right_lines(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    lookalike: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = signed(registry, signer, pool, "web")
    fake = signed(registry, lookalike, pool, "worker")
    unsigned = new_image(registry, f"acme/cron-{secrets.token_hex(3)}")
    files = {
        "deploy/web.yaml": pod("web", good.ref),
        "deploy/worker.yaml": pod("worker", fake.ref),
        "deploy/cron.yaml": "# runs nightly\n" + pod("cron", unsigned.ref),
    }
    pull = open_pull_request(tmp_path, fake_github, registry.host, github_oidc.san, files)
    token = fake_github.add_token()
    env = gate_step(tmp_path, pull, fake_github, sigstore_stack, registry, token)
    run = run_step(env, monkeypatch, capsys)

    assert run.code == 1, run.stdout + run.stderr
    assert_outputs(run, conclusion="failure", failing=2, images=3)
    assert (run.outputs["error"], run.outputs["verified"]) == ("negative", "false")
    assert (run.outputs["ok-count"], run.outputs["failed-count"]) == ("1", "2")
    (check,) = fake_github.check_runs(REPO)
    assert (check.head_sha, check.conclusion) == (pull.head, "failure")
    where = sorted((a["path"], a["start_line"], a["annotation_level"]) for a in check.annotations)
    assert where == [
        ("deploy/cron.yaml", IMAGE_LINE + 1, "failure"),
        ("deploy/worker.yaml", IMAGE_LINE, "failure"),
    ]
    (comment,) = fake_github.comments(REPO)
    assert fake.ref.split("@")[0] in comment.body
    assert unsigned.ref.split("@")[0] in comment.body
    # The check run carries the annotations: the log has no `::error file=` copies.
    assert [ln for ln in run.lines() if ln.startswith("::error file=")] == []
    assert "✘ 2 image(s) fail the gate" in run.stdout
    assert fake.ref.split("@")[0] in run.summary
    assert unsigned.ref.split("@")[0] in run.summary
    run.assert_masked([token])

    # The same change pushed again: the one comment is edited, not repeated.
    again = run_step(
        gate_step(tmp_path / "again", pull, fake_github, sigstore_stack, registry, token),
        monkeypatch,
        capsys,
    )
    assert again.code == 1
    (same,) = fake_github.comments(REPO)
    assert same.id == comment.id


def test_a_fork_falls_back_to_annotations_in_the_log(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = signed(registry, signer, pool, "ok")
    unsigned = new_image(registry, f"acme/forked-{secrets.token_hex(3)}")
    files = {
        "deploy/ok.yaml": pod("ok", good.ref),
        "deploy/app.yaml": pod("app", unsigned.ref),
    }
    fork = "someone/app"
    pull = open_pull_request(
        tmp_path, fake_github, registry.host, github_oidc.san, files, head_repo=fork
    )
    token = fake_github.add_token(READ_ONLY)  # all a fork's workflow ever gets
    env = gate_step(tmp_path, pull, fake_github, sigstore_stack, registry, token, head_repo=fork)
    run = run_step(env, monkeypatch, capsys)

    assert run.code == 1, run.stdout + run.stderr
    assert_outputs(run, conclusion="failure", failing=1, images=2)
    assert fake_github.check_runs(REPO) == []
    assert fake_github.comments(REPO) == []
    refused = [r for r in fake_github.requests() if r.status == 403]
    assert {(r.method, r.path.rsplit("/", 1)[-1]) for r in refused} == {
        ("POST", "check-runs"),
        ("POST", "comments"),
    }
    errors = [ln for ln in run.lines() if ln.startswith("::error file=")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file=deploy/app.yaml,line={IMAGE_LINE},title=")
    assert unsigned.ref.split("@")[0] in errors[0]
    notices = [ln for ln in run.lines() if ln.startswith("::notice")]
    assert len(notices) == 1
    assert "fork" in notices[0]
    assert "checks: write" in notices[0]
    reason = notices[0].split("::", 2)[2]
    assert (run.stdout + run.stderr).count(reason) == 1  # said once, not in the text too
    # The step summary is the report: the failing image, and the one that passed.
    assert unsigned.ref.split("@")[0] in run.summary
    assert good.ref.split("@")[0] in run.summary
    run.assert_masked([token])
