"""Helpers for the gate's GitHub tests: a client on the fake GitHub whose waits are recorded, and
gate reports made to order (failing, passing, unreachable, large)."""

from __future__ import annotations

from shipsign.gate.model import FileProblem, GateImage, GateReport, ImageUse, RefKind, Verdict
from shipsign.github_api import GitHubRepo, GitHubSettings
from shipsign.retry import RetryPolicy
from shipsign.secret import Secret
from stack.github_api import FakeGitHub

REPO = "acme/app"
HEAD = "4b6c1f7e2d9a8b3c5e0f1a2b3c4d5e6f7a8b9c0d"
DIGEST = "sha256:" + "ab" * 32
SIGNER = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0"


def open_repo(fake: FakeGitHub, token: str | None = None) -> GitHubRepo:
    """`acme/app` on the fake (default: a token that may write everything); close it after."""
    settings = GitHubSettings(
        token=Secret(token or fake.add_token()),
        api_url=fake.api_url,
        retry=RetryPolicy(attempts=3, base=0.1, cap=0.5, deadline=10.0),
        seconds_between_writes=None,  # PyGithub's own sleep cannot be injected
        sleep=lambda _s: None,
    )
    return GitHubRepo(settings, REPO)


def use(file: str, line: int, text: str, *, kind: RefKind = RefKind.STATIC) -> ImageUse:
    image = None if kind is RefKind.DYNAMIC else text
    return ImageUse(file=file, line=line, text=text, image=image, kind=kind, source="kubernetes")


def failing(i: int, *, uses: int = 1, verdict: Verdict = Verdict.UNSIGNED) -> GateImage:
    ref = f"ghcr.io/acme/bad{i}:1.0"
    return GateImage(
        image=ref,
        uses=tuple(use(f"deploy/bad{i}.yaml", 10 + k, ref) for k in range(uses)),
        verdict=verdict,
        digest=DIGEST,
        detail="no signature in the registry",
        failing=True,
    )


def passing(i: int) -> GateImage:
    ref = f"ghcr.io/acme/good{i}:1.0"
    return GateImage(
        image=ref,
        uses=(use(f"deploy/good{i}.yaml", 7, ref),),
        verdict=Verdict.PASSED,
        digest=DIGEST,
        signer=SIGNER,
        issuer="https://token.actions.githubusercontent.com",
        format="bundle",
    )


def unreachable(i: int) -> GateImage:
    ref = f"registry.internal/acme/app{i}:2"
    return GateImage(
        image=ref,
        uses=(use(f"deploy/int{i}.yaml", 3, ref),),
        verdict=Verdict.UNREACHABLE,
        detail="connection refused",
    )


def report(
    images: list[GateImage] | tuple[GateImage, ...] = (),
    problems: tuple[FileProblem, ...] = (),
    *,
    head_sha: str = HEAD,
) -> GateReport:
    return GateReport(
        images=tuple(images),
        problems=problems,
        files_checked=len(images) + len(problems),
        changed_files_source="pull request #7",
        head_sha=head_sha,
    )


def failing_report(n: int, *, passed: int = 0) -> GateReport:
    """`n` failing images (one use each) and `passed` passing ones."""
    return report([failing(i) for i in range(n)] + [passing(i) for i in range(passed)])
