"""Turn the action's parsed inputs into the use cases' requests: keychain, policy, trust.

Pure: no I/O. Registry credentials come only from the inputs (a container action does not see
the runner's `~/.docker/config.json`): `registry-logins`, and `github-token` for ghcr.io.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
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
    from shipsign.oci.credentials import Keychain
    from shipsign.policy.config import ShipsignConfig
    from shipsign.sign import SignRequest
    from shipsign.verify import VerifyRequest

__all__ = [
    "GHCR",
    "build_config",
    "build_file_options",
    "build_keychain",
    "build_policy",
    "build_sign_request",
    "build_trust",
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
