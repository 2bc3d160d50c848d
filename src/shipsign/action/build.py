"""Turn the action's parsed inputs into the use cases' requests: keychain, policy, trust,
GitHub settings, release target, gate request.

Pure: no I/O. Registry credentials come only from the inputs (a container action does not see
the runner's `~/.docker/config.json`): `registry-logins`, and `github-token` for ghcr.io. The
GitHub API gets `github-token` too, at `GITHUB_API_URL`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from shipsign.action.inputs import ActionInputs
from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.policy_options import OptionSource
from shipsign.keyless.trust import Instance, TrustOptions
from shipsign.oci.credentials import Credential, StaticKeychain
from shipsign.secret import Secret

if TYPE_CHECKING:
    from shipsign.blobs.model import FileSignOptions
    from shipsign.gate.run import GateRequest
    from shipsign.github_api import GitHubSettings
    from shipsign.oci.credentials import Keychain
    from shipsign.policy.config import ShipsignConfig
    from shipsign.release.publish import ReleaseTarget
    from shipsign.release.verify import VerifyReleaseRequest
    from shipsign.sign import SignRequest
    from shipsign.verify import VerifyRequest

__all__ = [
    "GHCR",
    "build_config",
    "build_file_options",
    "build_gate_request",
    "build_github_settings",
    "build_keychain",
    "build_policy",
    "build_release_target",
    "build_sign_request",
    "build_trust",
    "build_verify_release_request",
    "build_verify_request",
    "derived_secrets",
]

GHCR = "ghcr.io"
# GHCR accepts any username with a token; `x-access-token` is what GitHub's own tools send.
_TOKEN_USER = "x-access-token"  # noqa: S105 (a username, not a password)


def _ghcr_username(env: Mapping[str, str]) -> str:
    return env.get("GITHUB_ACTOR") or _TOKEN_USER


def build_keychain(inputs: ActionInputs, env: Mapping[str, str]) -> StaticKeychain:
    """The logins of `registry-logins`, plus `github-token` for ghcr.io unless a line names it."""
    logins: dict[str, Credential] = {}
    if inputs.github_token:
        logins[GHCR] = Credential(username=_ghcr_username(env), password=inputs.github_token)
    for login in inputs.registry_logins:
        logins[login.host] = Credential(username=login.username, password=login.password)
    return StaticKeychain(logins)


def derived_secrets(inputs: ActionInputs, env: Mapping[str, str]) -> list[Secret]:
    """The `user:password` Basic encodings of every login, masked alongside the passwords."""
    pairs = [(login.username, login.password) for login in inputs.registry_logins]
    if inputs.github_token:
        pairs.append((_ghcr_username(env), inputs.github_token))
    return [
        Secret(base64.b64encode(f"{user}:{password.reveal()}".encode()).decode())
        for user, password in pairs
    ]


def build_policy(inputs: ActionInputs) -> IdentityPolicy:
    """The identity policy from the inputs named like the CLI's flags; empty means "any"."""
    return build_identity_policy([inputs.policy], source=OptionSource.ACTION)


def build_config(inputs: ActionInputs, env: Mapping[str, str]) -> ShipsignConfig | None:
    """The policy file: input `config`, else `SHIPSIGN_CONFIG`, else found from the workspace."""
    from shipsign.policy.config import resolve_config

    start = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
    return resolve_config(inputs.config, env, start)


def build_trust(inputs: ActionInputs) -> TrustOptions:
    """`trust-config` (a ClientTrustConfig file) or the public instance, staging if asked."""
    return TrustOptions(
        instance=Instance.STAGING if inputs.staging else Instance.PRODUCTION,
        trust_config=Path(inputs.trust_config) if inputs.trust_config else None,
    )


def build_verify_request(inputs: ActionInputs, keychain: Keychain) -> VerifyRequest:
    """The `verify` use case's request for these inputs, with the logins of `build_keychain`."""
    from shipsign.verify import SourceFormat, VerifyRequest

    return VerifyRequest(
        images=inputs.images,
        policy=build_policy(inputs),
        trust=build_trust(inputs),
        format=SourceFormat(inputs.format),
        recursive=inputs.recursive,
        insecure_registries=inputs.insecure_registries,
        keychain=keychain,
    )


def build_file_options(
    inputs: ActionInputs, workspace: Path, config: ShipsignConfig | None = None
) -> FileSignOptions | None:
    """The files to sign: input `files` (relative to the workspace), else the policy file's
    `[sign] files` (relative to the policy file's folder); None when neither names any."""
    from shipsign.blobs.model import FileSignOptions

    if inputs.files:
        patterns, root = inputs.files, workspace
    elif config is not None and config.sign.files:
        patterns, root = config.sign.files, config.path.parent
    else:
        if inputs.checksums:
            raise InputError(
                "input `checksums` needs files to list",
                expected="input `files` (or [sign] files in the policy file)",
                found="no files",
            )
        return None
    return FileSignOptions(patterns=patterns, root=root, checksums=inputs.checksums or None)


def build_sign_request(
    inputs: ActionInputs,
    token_source: Callable[[], Secret],
    keychain: Keychain,
    config: ShipsignConfig | None = None,
    *,
    workspace: Path | None = None,
) -> SignRequest:
    """The `sign` use case's request; `token_source` gives (and masks) every identity token,
    the first and each renewal. Inputs beat the policy file's `[sign]` table. File patterns
    are relative to `workspace` (default: the working directory)."""
    from shipsign.policy.config import SignSettings, images_to_sign
    from shipsign.sign import SignFormat, SignRequest

    settings = config.sign if config else SignSettings()
    fmt = inputs.format if inputs.format_given else settings.format or inputs.format
    return SignRequest(
        images=images_to_sign(settings, inputs.images, config.path if config else None),
        format=SignFormat(fmt),
        identity_token_source=token_source,
        trust=build_trust(inputs),
        # `recursive` always arrives (its default is "false"), so the file can only turn it on.
        recursive=inputs.recursive or bool(settings.recursive),
        annotations=inputs.annotations,
        verify_after=inputs.verify_after_sign,
        tags=inputs.tags,
        insecure_registries=inputs.insecure_registries,
        keychain=keychain,
        files=build_file_options(inputs, workspace or Path("."), config),
    )


def build_github_settings(
    inputs: ActionInputs, env: Mapping[str, str], *, needed_by: str, anonymous: bool = False
) -> GitHubSettings:
    """GitHub at `GITHUB_API_URL` with the `github-token` input. Without a token: no
    credentials with `anonymous` (a public repository can be read so), else `InputError`
    saying that `needed_by` needs one."""
    from shipsign.github_api import GitHubSettings

    # Only the API's address comes from the environment: the token is the input's, never a
    # GITHUB_TOKEN variable the container happens to see.
    where = GitHubSettings.from_env(
        {"GITHUB_API_URL": env.get("GITHUB_API_URL", "")}, anonymous=True
    )
    if inputs.github_token:
        return replace(where, token=inputs.github_token)
    if anonymous:
        return where
    raise InputError(
        f"{needed_by} needs a GitHub token",
        expected="input `github-token` (its default is the job's token, `${{ github.token }}`)",
        found="an empty github-token",
    )


def _release_repository(inputs: ActionInputs, env: Mapping[str, str]) -> str:
    from shipsign.github_api import parse_repository

    value = inputs.release_repository or env.get("GITHUB_REPOSITORY", "")
    if not value:
        raise InputError(
            "which repository's release?",
            expected="input `release-repository` (OWNER/REPO), or GITHUB_REPOSITORY",
            found="neither",
        )
    return parse_repository(value)


def build_release_target(inputs: ActionInputs, env: Mapping[str, str]) -> ReleaseTarget:
    """Where `sign` puts its file outputs: the release of `github-release` (`auto`: the tag
    that started the workflow) in `release-repository` (default: this repository)."""
    from shipsign.release.publish import ReleaseTarget, release_tag

    return ReleaseTarget(
        repository=_release_repository(inputs, env),
        tag=release_tag(inputs.github_release, env),
        create=inputs.create_release,
        upload_files=inputs.upload_files,
    )


def build_verify_release_request(
    inputs: ActionInputs, env: Mapping[str, str]
) -> VerifyReleaseRequest:
    """The `verify-release` use case's request: the release of `github-release` in
    `release-repository`, checked against the identity inputs."""
    from shipsign.release.publish import release_tag
    from shipsign.release.verify import VerifyReleaseRequest

    return VerifyReleaseRequest(
        repository=_release_repository(inputs, env),
        tag=release_tag(inputs.github_release, env),
        policy=build_policy(inputs),
        trust=build_trust(inputs),
        allow_unsigned=inputs.allow_unsigned,
    )


def _run_url(env: Mapping[str, str]) -> str:
    """This workflow run's page, for the check run's "details" link; "" when unknown."""
    server, repo, run = (
        env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server.startswith(("https://", "http://")) and repo and run.isdigit()):
        return ""
    return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"


def build_gate_request(
    inputs: ActionInputs, env: Mapping[str, str], config: ShipsignConfig | None, *, root: Path
) -> GateRequest:
    """The gate's request: the workspace (`root`) is the clone; the pull request, its
    repository and head come from the workflow's event; the report goes to GitHub as a check
    run named `check-name` and a comment kept as `comment` says."""
    from shipsign.gate.comment import CommentMode
    from shipsign.gate.github_report import ReportOptions
    from shipsign.gate.judge import GateOptions
    from shipsign.gate.run import GateRequest

    return GateRequest(
        root=root,
        paths=inputs.paths,
        base=inputs.base or None,
        config=config,
        options=GateOptions(
            require_policy=inputs.require_policy,
            require_digest=inputs.require_digest,
            trust=build_trust(inputs),
            insecure_registries=inputs.insecure_registries,
        ),
        report=ReportOptions(
            name=inputs.check_name,
            comment=CommentMode(inputs.comment),
            details_url=_run_url(env),
        ),
    )
