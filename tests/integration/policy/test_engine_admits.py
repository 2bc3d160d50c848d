"""A real admission engine enforces the policy `shipsign policy` exported: sigstore
policy-controller's tester (the webhook's own verification code) admits an image shipsign signed
with the right identity and denies an unsigned one and ones signed by look-alike identities.

Everything is local: the registry on loopback (plain HTTP), the Sigstore stack with a private
trusted root (exported as a TrustRoot with `--trust-config`), and the GitHub OIDC fixture minting
tokens for the signer and for the look-alikes. The exported documents are used unchanged.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from integration.verify.signed_images import run_cli
from stack.policy_tester import AdmissionRun, PolicyTester, split_export
from stack.raw_registry import RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

ISSUER = "https://token.actions.githubusercontent.com"
RELEASE = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*"
TAG = "refs/tags/v1.2.3"
WORKFLOWS = ".github/workflows/"


def _policy_file(host: str, fmt: str) -> str:
    return f"""
[sign]
format = "{fmt}"

[[policy]]
images = ["{host}/acme/*"]
issuer = "{ISSUER}"
identity = "{RELEASE}"
github = {{ repository = "acme/app", workflow-trigger = "push" }}
"""


@dataclass(frozen=True, slots=True)
class Scene:
    """A folder with `.shipsign.toml`, the stack, and the exported policy split per document."""

    folder: Path
    registry: Registry
    sigstore_stack: SigstoreStack
    github_oidc: GitHubOidc
    policy: Path
    trust_root: Path
    tester: PolicyTester

    def push(self, name: str, owner: str = "acme") -> str:
        """Push a fresh image to `<owner>/<name>-<random>`; its reference by digest."""
        repo = f"{owner}/{name}-{secrets.token_hex(4)}"
        digest = sha256(RawClient(self.registry, repo).push_image("v1", layer=os.urandom(64)))
        return f"{self.registry.host}/{repo}@{digest}"

    def sign(self, capsys: pytest.CaptureFixture[str], image: str, token: str) -> None:
        path = self.folder / f"token-{secrets.token_hex(4)}"
        path.write_text(token)
        argv = ["sign", image, "--identity-token", str(path)]
        argv += ["--trust-config", str(self.sigstore_stack.trust_config)]
        argv += ["--insecure-registry", self.registry.host]
        signed = run_cli(capsys, argv)
        assert signed.code == 0, signed.out + signed.err

    def check(self, image: str) -> AdmissionRun:
        return self.tester.check(image, policy=self.policy, trust_root=self.trust_root)


def _scene(
    fmt: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> Scene:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".shipsign.toml").write_text(_policy_file(registry.host, fmt))
    monkeypatch.chdir(tmp_path)
    exported = tmp_path / "policy-controller.yaml"
    argv = ["policy", "--engine", "policy-controller", "-o", str(exported)]
    argv += ["--trust-config", str(sigstore_stack.trust_config)]
    done = run_cli(capsys, argv)
    assert done.code == 0, done.err
    documents = split_export(exported, tmp_path)
    assert sorted(documents) == ["ClusterImagePolicy", "TrustRoot"]
    return Scene(
        folder=tmp_path,
        registry=registry,
        sigstore_stack=sigstore_stack,
        github_oidc=github_oidc,
        policy=documents["ClusterImagePolicy"],
        trust_root=documents["TrustRoot"],
        tester=PolicyTester(tmp_path / "tester-home"),
    )


@pytest.fixture(params=["both", "legacy"])
def scene(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> Scene:
    return _scene(
        str(request.param), tmp_path, monkeypatch, capsys, registry, sigstore_stack, github_oidc
    )


def _workflow_ref(repository: str, workflow: str, ref: str = TAG) -> dict[str, str]:
    """Claims for a job of `repository` running `workflow` at `ref` (Fulcio's SAN source)."""
    job = f"{repository}/{WORKFLOWS}{workflow}@{ref}"
    owner = repository.split("/")[0]
    return {
        "repository": repository,
        "repository_owner": owner,
        "workflow_ref": job,
        "job_workflow_ref": job,
        "ref": ref,
        "sub": f"repo:{repository}:ref:{ref}",
    }


def test_the_exported_policy_admits_the_right_signer(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    image = scene.push("app")
    scene.sign(capsys, image, scene.github_oidc.mint())
    run = scene.check(image)
    assert run.admitted, run
    # All trust came from the exported TrustRoot: no TUF client ran (it would cache under HOME).
    assert not list(scene.tester.home.rglob("*")), list(scene.tester.home.rglob("*"))


def test_the_exported_policy_denies_an_unsigned_image(scene: Scene) -> None:
    run = scene.check(scene.push("unsigned"))
    assert run.denied, run
    assert "no signatures found" in "\n".join(run.errors), run


LOOK_ALIKES = {
    "another workflow": _workflow_ref("acme/app", "build.yml"),
    "a fork": _workflow_ref("acme/app-fork", "release.yml"),
    "a branch, not a tag": _workflow_ref("acme/app", "release.yml", "refs/heads/main"),
    # The whole right identity at the end of another one: only an anchored pattern refuses it.
    "a prefix attack": _workflow_ref(
        "evil/app",
        "release.yml",
        f"refs/heads/https://github.com/acme/app/{WORKFLOWS}release.yml@{TAG}",
    ),
}


@pytest.mark.parametrize("claims", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_the_exported_policy_denies_a_look_alike_signer(
    scene: Scene, capsys: pytest.CaptureFixture[str], claims: dict[str, str]
) -> None:
    image = scene.push("app")
    scene.sign(capsys, image, scene.github_oidc.mint(**claims))
    run = scene.check(image)
    assert run.denied, run
    # Denied for the identity, after the signature itself verified against the private trust.
    assert "none of the expected identities matched" in "\n".join(run.errors), run


def test_a_signed_image_outside_the_policy_globs_is_denied(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed by the right identity, but no policy names its repository: "deny" (the tester's
    NoMatchPolicy, as a cluster configured to refuse unmatched images)."""
    image = scene.push("app", owner="other")
    scene.sign(capsys, image, scene.github_oidc.mint())
    run = scene.check(image)
    assert run.denied, run


def test_the_anchors_are_what_refuse_the_prefix_attack(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    """Control: policy-controller matches subjectRegExp unanchored (Go regexp MatchString), so
    the same policy without `^...$` admits the prefix attack the exported one denies."""
    image = scene.push("app")
    scene.sign(capsys, image, scene.github_oidc.mint(**LOOK_ALIKES["a prefix attack"]))
    assert scene.check(image).denied
    text = scene.policy.read_text(encoding="utf-8")
    anchored = "subjectRegExp: '^https://github"
    assert text.count(anchored) == 1, text
    assert text.count("$'") == 1, text
    unanchored = scene.folder / "unanchored.yaml"
    unanchored.write_text(
        text.replace(anchored, "subjectRegExp: 'https://github").replace("$'", "'")
    )
    run = scene.tester.check(image, policy=unanchored, trust_root=scene.trust_root)
    assert run.admitted, run


def test_bundle_only_is_refused_with_a_private_trust_root_as_the_export_warns(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    """policy-controller v0.15.1 cannot verify bundles against a `sigstoreKeys` TrustRoot: its
    pkg/apis/config/sigstore_keys.go sets each log's KeyId to the hex text of the ID, which
    sigstore-go's NewTrustedRootFromProtobuf hex-encodes again, so neither the Rekor entry nor
    the SCT finds its log. The export says so; when a new version fixes it, this test fails and
    the warning goes."""
    scene = _scene("bundle", tmp_path, monkeypatch, capsys, registry, sigstore_stack, github_oidc)
    assert "cannot verify bundles against a TrustRoot with sigstoreKeys" in scene.policy.read_text()
    image = scene.push("app")
    scene.sign(capsys, image, scene.github_oidc.mint())
    run = scene.check(image)
    assert run.denied, run
    assert "not enough verified log entries from transparency log: 0 < 1" in run.errors[0], run
