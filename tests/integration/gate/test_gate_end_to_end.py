"""The gate end to end: a git repository with a `.shipsign.toml`, a pull request on the fake
GitHub, images in the local registry signed on the local Sigstore stack. The verdict lands on
the pull request's head commit as a check run with annotations on the right lines, one comment
is kept across reruns, and a fork's read-only token falls back to the job's own annotations."""

from __future__ import annotations

import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from integration.verify.signed_images import Image, new_image, sign_image
from shipsign.gate.annotations import workflow_annotations
from shipsign.gate.github_report import ReportOptions
from shipsign.gate.judge import GateOptions
from shipsign.gate.model import Conclusion, Verdict
from shipsign.gate.run import GateOutcome, GateRequest, run_gate
from shipsign.github_api import GitHubSettings
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Registries
from shipsign.oci.transport import Reply
from shipsign.policy.config import load_config
from shipsign.retry import RetryPolicy
from shipsign.secret import Secret
from stack.github_api import READ_ONLY, FakeGitHub
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

REPO = "acme/app"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def deployment(name: str, image: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: apps
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: {image}
          ports:
            - containerPort: 8080
"""


IMAGE_LINE = 18  # the line of `image:` in `deployment()`


@dataclass
class Change:
    root: Path
    base: str
    head: str
    files: list[str]


def make_change(
    tmp_path: Path, host: str, identity: str, files: dict[str, str], *, name: str = "repo"
) -> Change:
    """A clone whose main has the policy file, and a head commit that adds `files`."""
    root = tmp_path / name
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / ".shipsign.toml").write_text(
        f"""
[[policy]]
images = ["{host}/acme/*"]
issuer = "https://token.actions.githubusercontent.com"
identity = "{identity}"
"""
    )
    (root / "README.md").write_text("apps\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    return Change(root=root, base=base, head=git(root, "rev-parse", "HEAD"), files=list(files))


def _settings(fake: FakeGitHub, token: str) -> GitHubSettings:
    return GitHubSettings(
        token=Secret(token),
        api_url=fake.api_url,
        retry=RetryPolicy(attempts=2, base=0.1, cap=0.2, deadline=5.0),
        seconds_between_writes=None,
        sleep=lambda _s: None,
    )


def run(
    change: Change,
    fake: FakeGitHub,
    stack: SigstoreStack,
    host: str,
    *,
    number: int = 7,
    token: str | None = None,
    head_repo: str = REPO,
    registries: Registries | None = None,
) -> GateOutcome:
    fake.add_pull(
        REPO,
        number,
        head_sha=change.head,
        files=[{"filename": f, "status": "added"} for f in change.files],
        head_repo=head_repo,
    )
    request = GateRequest(
        root=change.root,
        pull_request=number,
        repository=REPO,
        config=load_config(change.root / ".shipsign.toml"),
        options=GateOptions(
            trust=TrustOptions(trusted_root=stack.trusted_root), insecure_registries=(host,)
        ),
        report=ReportOptions(),
    )
    return run_gate(
        request,
        environ={},
        settings=_settings(fake, token or fake.add_token()),
        registries=registries,
    )


def signed(registry: Registry, signer: KeylessSigner, pool: Registries, name: str) -> Image:
    image = new_image(registry, f"acme/{name}-{secrets.token_hex(3)}")
    sign_image(image, signer, "bundle", pool)
    return image


def test_a_change_that_deploys_a_signed_image_passes(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo(REPO)
    image = signed(registry, signer, pool, "api")
    change = make_change(
        tmp_path, registry.host, github_oidc.san, {"deploy/api.yaml": deployment("api", image.ref)}
    )
    outcome = run(change, fake_github, sigstore_stack, registry.host)
    report = outcome.report
    assert report.conclusion is Conclusion.SUCCESS, report
    (only,) = report.images
    assert (only.verdict, only.signer, only.digest) == (
        Verdict.PASSED,
        github_oidc.san,
        str(image.digest),
    )
    assert [u.where for u in only.uses] == [f"deploy/api.yaml:{IMAGE_LINE}"]
    (check,) = fake_github.check_runs(REPO)
    assert (check.head_sha, check.conclusion) == (change.head, "success")
    assert check.annotations == []
    assert fake_github.comments(REPO) == []  # on-failure: nothing to say
    assert outcome.github is not None
    assert not outcome.github.fell_back


def test_an_unsigned_or_lookalike_image_fails_on_the_right_line(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    lookalike: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo(REPO)
    good = signed(registry, signer, pool, "web")
    fake = signed(registry, lookalike, pool, "worker")
    unsigned = new_image(registry, f"acme/cron-{secrets.token_hex(3)}")
    files = {
        "deploy/web.yaml": deployment("web", good.ref),
        "deploy/worker.yaml": deployment("worker", fake.ref),
        "deploy/cron.yaml": "# a comment first\n" + deployment("cron", unsigned.ref),
    }
    change = make_change(tmp_path, registry.host, github_oidc.san, files)
    outcome = run(change, fake_github, sigstore_stack, registry.host)
    report = outcome.report
    assert report.conclusion is Conclusion.FAILURE
    verdicts = {i.image: i.verdict for i in report.images}
    assert verdicts == {
        good.ref: Verdict.PASSED,
        fake.ref: Verdict.FAILED,
        unsigned.ref: Verdict.UNSIGNED,
    }
    (check,) = fake_github.check_runs(REPO)
    assert check.conclusion == "failure"
    where = sorted((a["path"], a["start_line"], a["annotation_level"]) for a in check.annotations)
    assert where == [
        ("deploy/cron.yaml", IMAGE_LINE + 1, "failure"),
        ("deploy/worker.yaml", IMAGE_LINE, "failure"),
    ]
    (comment,) = fake_github.comments(REPO)
    assert fake.ref.split("@")[0] in comment.body
    assert unsigned.ref.split("@")[0] in comment.body

    # A rerun (the same change) updates the one comment; a fixed change resolves it.
    again = run(change, fake_github, sigstore_stack, registry.host)
    assert again.report.conclusion is Conclusion.FAILURE
    (same,) = fake_github.comments(REPO)
    assert same.id == comment.id
    fixed = make_change(
        tmp_path,
        registry.host,
        github_oidc.san,
        {"deploy/web.yaml": deployment("web", good.ref)},
        name="fixed",
    )
    passed = run(fixed, fake_github, sigstore_stack, registry.host)
    assert passed.report.conclusion is Conclusion.SUCCESS
    (resolved,) = fake_github.comments(REPO)
    assert resolved.id == comment.id
    assert "resolved" in resolved.body.lower()


def test_a_fork_falls_back_to_the_jobs_annotations(
    tmp_path: Path,
    registry: Registry,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo(REPO)
    unsigned = new_image(registry, f"acme/forked-{secrets.token_hex(3)}")
    change = make_change(
        tmp_path,
        registry.host,
        github_oidc.san,
        {"deploy/app.yaml": deployment("app", unsigned.ref)},
    )
    outcome = run(
        change,
        fake_github,
        sigstore_stack,
        registry.host,
        token=fake_github.add_token(READ_ONLY),
        head_repo="someone/app",
    )
    assert outcome.report.conclusion is Conclusion.FAILURE
    assert outcome.github is not None
    assert "fork" in outcome.github.fell_back
    assert outcome.needs_workflow_annotations
    assert fake_github.check_runs(REPO) == []
    assert fake_github.comments(REPO) == []
    (line,) = workflow_annotations(outcome.report)
    assert line.startswith(f"::error file=deploy/app.yaml,line={IMAGE_LINE}")


def test_forty_images_in_fifteen_files_fetch_each_digest_once(
    tmp_path: Path,
    registry: Registry,
    pool: Registries,
    signer: KeylessSigner,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo(REPO)
    images = [signed(registry, signer, pool, f"svc{i}") for i in range(40)]
    files: dict[str, str] = {}
    for f in range(15):  # 15 files; every image used at least once, some twice
        docs = [
            deployment(f"svc{i}", images[i].ref) for i in range(40) if i % 15 == f or i == f * 2
        ]
        files[f"deploy/team{f}.yaml"] = "---\n".join(docs)
    change = make_change(tmp_path, registry.host, github_oidc.san, files)
    seen: list[tuple[str, str]] = []

    def hook(reply: Reply) -> None:
        seen.append((reply.method, urlsplit(reply.url).path))

    with Registries(insecure=[registry.host], env={}, response_hook=hook) as counted:
        started = time.monotonic()
        outcome = run(change, fake_github, sigstore_stack, registry.host, registries=counted)
        elapsed = time.monotonic() - started
    report = outcome.report
    assert report.conclusion is Conclusion.SUCCESS, [i for i in report.images if i.failing]
    assert len(report.images) == 40
    assert sum(len(i.uses) for i in report.images) > 40
    assert outcome.verified == 40
    assert outcome.resolved == 0
    # Each digest's referrers tag (this registry has no referrers API) is read exactly once,
    # though 15 of the 40 images are used twice: verdicts are shared, not looked up again.
    tag_reads = {
        str(i.digest): sum(1 for _, path in seen if path.endswith(i.digest.tag_form))
        for i in images
    }
    assert set(tag_reads.values()) == {1}, tag_reads
    assert len(seen) <= 40 * 3 + 5  # tag, bundle manifest, bundle blob; a few probes
    print(f"\n40 images in 15 files: {elapsed:.2f} s, {len(seen)} registry requests")
