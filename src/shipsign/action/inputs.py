"""Read the action's inputs from the runner's `INPUT_*` environment into one typed value.

The runner sets `INPUT_` + the input name upper-cased with spaces turned into `_`; hyphens are
kept (`github-token` arrives as `INPUT_GITHUB-TOKEN`). Every input is read through `_raw`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shipsign.errors import InputError
from shipsign.gate.markdown import DEFAULT_CHECK_NAME
from shipsign.keyless.policy_options import POLICY_OPTIONS
from shipsign.secret import Secret

__all__ = [
    "COMMANDS",
    "COMMENT_MODES",
    "INPUT_NAMES",
    "ActionInputs",
    "RegistryLogin",
    "env_name",
    "parse_inputs",
    "raw_result_file",
    "raw_secrets",
]

# Every input the entry point reads; a test checks this equals action.yml's inputs.
INPUT_NAMES = (
    "command",
    "images",
    "files",
    "checksums",
    "format",
    "recursive",
    "annotations",
    *(option.input for option in POLICY_OPTIONS),  # the identity policy, in the table's order
    "config",
    "trust-config",
    "staging",
    "github-token",
    "registry-logins",
    "insecure-registries",
    "verify-after-sign",
    "tags",
    "github-release",
    "create-release",
    "upload-files",
    "release-repository",
    "allow-unsigned",
    "paths",
    "base",
    "require-policy",
    "require-digest",
    "comment",
    "check-name",
    "result-file",
    "summary",
)
COMMANDS = ("sign", "verify", "gate", "verify-release")
COMMENT_MODES = ("on-failure", "always", "never")


@dataclass(frozen=True, slots=True)
class RegistryLogin:
    """One `HOST USERNAME PASSWORD` line of the `registry-logins` input."""

    host: str
    username: str
    password: Secret


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionInputs:
    """The action's inputs, parsed and checked."""

    command: str
    images: tuple[str, ...]
    format: str
    recursive: bool
    annotations: tuple[str, ...]
    # The identity policy inputs, keyed by `PolicyField` value ("" when not given); checked
    # by `build_identity_policy`.
    policy: Mapping[str, str]
    trust_config: str
    staging: bool
    github_token: Secret | None
    registry_logins: tuple[RegistryLogin, ...]
    insecure_registries: tuple[str, ...]
    verify_after_sign: bool
    summary: bool
    config: str = ""  # the policy file; "" = look for one from the workspace
    tags: tuple[str, ...] = ()  # sign: moved to the digests once everything verified
    result_file: str = ""  # write `result` here too, relative to the workspace; "" = no file
    format_given: bool = False  # `format` was set: it beats the policy file's [sign] format
    files: tuple[str, ...] = ()  # sign: paths or globs, relative to the workspace
    checksums: str = ""  # sign: also write and sign a sha256sum file of this name; "" = none
    # sign: put the file outputs on the GitHub release of this tag (`auto`: the tag that
    # started the workflow); verify-release: the release to verify. "" = none.
    github_release: str = ""
    create_release: bool = False  # sign: make a draft release when there is none
    upload_files: bool = False  # sign: upload the signed files too, not only their bundles
    release_repository: str = ""  # OWNER/REPO of the release; "" = GITHUB_REPOSITORY
    allow_unsigned: tuple[str, ...] = ()  # verify-release: asset name globs that may be unsigned
    paths: tuple[str, ...] = ()  # gate: check every file under these instead of the change
    base: str = ""  # gate: compare with this git ref instead of asking for the pull request
    require_policy: bool = False  # gate: an image no [[policy]] covers fails
    require_digest: bool = False  # gate: a reference not pinned by digest fails
    comment: str = COMMENT_MODES[0]  # gate: when to keep a comment on the pull request
    check_name: str = DEFAULT_CHECK_NAME  # gate: the check run's name

    def secrets(self) -> list[Secret]:
        """Every credential among the inputs, to be masked before anything else is printed."""
        found = [login.password for login in self.registry_logins]
        if self.github_token:
            found.append(self.github_token)
        return found


def env_name(input_name: str) -> str:
    """The environment variable the runner uses for an input."""
    return "INPUT_" + input_name.replace(" ", "_").upper()


def _raw(env: Mapping[str, str], name: str) -> str:
    return env.get(env_name(name), "").strip()


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _raw(env, name)
    if not value:
        return default
    if value in {"true", "false"}:
        return value == "true"
    raise InputError(
        f"input `{name}` must be true or false",
        expected="true or false",
        found=repr(value),
    )


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A multi-line and/or comma-separated list; blank items and `#` comment lines dropped."""
    items: list[str] = []
    for line in _raw(env, name).splitlines():
        if line.strip().startswith("#"):
            continue
        items += [part.strip() for part in line.split(",") if part.strip()]
    return tuple(items)


def _lines(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """One item per line (a file name may hold a comma); blank and `#` comment lines dropped."""
    lines = (line.strip() for line in _raw(env, name).splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = _raw(env, name) or default
    if value not in choices:
        raise InputError(
            f"input `{name}` has an unknown value",
            expected=" | ".join(choices),
            found=repr(value),
        )
    return value


def _logins(env: Mapping[str, str]) -> tuple[RegistryLogin, ...]:
    logins = []
    for n, line in enumerate(_raw(env, "registry-logins").splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            # Never echo the line: it holds a password.
            raise InputError(
                f"input `registry-logins`, line {n}: expected three words",
                expected="HOST USERNAME PASSWORD",
                found=f"{len(parts)} word(s)",
            )
        host, user, password = parts
        if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?", host):
            raise InputError(
                f"input `registry-logins`, line {n}: {host!r} is not a registry host",
                expected="a host name with an optional :port, e.g. docker.io or ghcr.io",
            )
        logins.append(RegistryLogin(host=host, username=user, password=Secret(password)))
    return tuple(logins)


def raw_secrets(env: Mapping[str, str]) -> tuple[Secret, ...]:
    """Every credential in the inputs, read leniently so that it can be masked before parsing.

    Parsing may fail (and say so in the log) on any input; the masks must already be in place.
    A `registry-logins` line of the wrong shape has every word but the host treated as secret.
    """
    found = [Secret(_raw(env, "github-token"))]
    for line in _raw(env, "registry-logins").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        found += [Secret(w) for w in (words[2:] if len(words) == 3 else words[1:])]
    return tuple(s for s in found if s)


def raw_result_file(env: Mapping[str, str]) -> str:
    """The `result-file` input as given: a run whose other inputs are wrong still writes it."""
    return _raw(env, "result-file")


def _shown(flag: bool) -> str:
    return "true" if flag else ""


def _only_for(command: str, allowed: tuple[str, ...], given: dict[str, str]) -> None:
    """InputError for the first input in `given` (name → value shown) that `command` ignores."""
    if command in allowed:
        return
    for name, shown in given.items():
        if shown:
            raise InputError(
                f"input `{name}` is for `command: {' or '.join(allowed)}`",
                expected=f"no `{name}` with {command}",
                found=shown,
            )


def parse_inputs(env: Mapping[str, str]) -> ActionInputs:
    """Parse every input; raise InputError naming the first input that is wrong."""
    token = _raw(env, "github-token")
    if not _raw(env, "command"):
        # No default: a workflow that forgot `command:` must not start signing.
        raise InputError(
            "input `command` is required", expected=" | ".join(COMMANDS), found="nothing"
        )
    command = _choice(env, "command", COMMANDS, "sign")
    images = _list(env, "images")
    tags = _list(env, "tags")
    if tags and command != "sign":
        raise InputError(
            "input `tags` is for `command: sign`",
            expected=f"no tags with {command}",
            found=", ".join(tags),
        )
    files = _lines(env, "files")
    checksums = _raw(env, "checksums")
    if (files or checksums) and command != "sign":
        raise InputError(
            "inputs `files` and `checksums` are for `command: sign`",
            expected=f"no files with {command} (use `shipsign verify-blob`)",
            found=", ".join(files) or checksums,
        )
    if images and command in ("gate", "verify-release"):
        found = "the images the change references" if command == "gate" else "release files"
        raise InputError(
            f"input `images` is for sign and verify: {command} checks {found}",
            expected=f"no `images` with {command}",
            found=", ".join(images),
        )
    release = _raw(env, "github-release")
    create, upload = _bool(env, "create-release", False), _bool(env, "upload-files", False)
    allow_unsigned = _lines(env, "allow-unsigned")
    paths = _lines(env, "paths")
    base = _raw(env, "base")
    require_policy = _bool(env, "require-policy", False)
    require_digest = _bool(env, "require-digest", False)
    release_repository = _raw(env, "release-repository")
    _only_for(
        command,
        ("sign", "verify-release"),
        {"github-release": release, "release-repository": release_repository},
    )
    _only_for(
        command, ("sign",), {"create-release": _shown(create), "upload-files": _shown(upload)}
    )
    _only_for(command, ("verify-release",), {"allow-unsigned": ", ".join(allow_unsigned)})
    gate_only = {"paths": ", ".join(paths), "base": base}
    gate_only |= {
        "require-policy": _shown(require_policy),
        "require-digest": _shown(require_digest),
    }
    _only_for(command, ("gate",), gate_only)
    if command == "gate":
        named = [option.input for option in POLICY_OPTIONS if _raw(env, option.input)]
        if named:
            raise InputError(
                f"input `{named[0]}` is for verify: the gate checks each image against the "
                "policy file's [[policy]] entry that covers it",
                expected="the identities in the policy file (`config`, or .shipsign.toml)",
                found=", ".join(named),
            )
    if (create or upload) and not release:
        raise InputError(
            "inputs `create-release` and `upload-files` need `github-release`",
            expected="github-release: a tag, or auto (the tag that started the workflow)",
            found="no github-release",
        )
    if command == "verify-release" and not release:
        raise InputError(
            "input `github-release` is required with `command: verify-release`",
            expected="the release's tag, or auto (the tag that started the workflow)",
            found="nothing",
        )
    if command in ("sign", "verify"):
        formats = ("both", "bundle", "legacy") if command == "sign" else ("any", "bundle", "legacy")
        fmt = _choice(env, "format", formats, formats[0])
    else:
        _only_for(command, ("sign", "verify"), {"format": _raw(env, "format")})
        fmt = ""
    return ActionInputs(
        command=command,
        images=images,
        format=fmt,
        recursive=_bool(env, "recursive", False),
        annotations=_list(env, "annotations"),
        policy={option.field.value: _raw(env, option.input) for option in POLICY_OPTIONS},
        trust_config=_raw(env, "trust-config"),
        staging=_bool(env, "staging", False),
        github_token=Secret(token) if token else None,
        registry_logins=_logins(env),
        insecure_registries=_list(env, "insecure-registries"),
        verify_after_sign=_bool(env, "verify-after-sign", True),
        summary=_bool(env, "summary", True),
        config=_raw(env, "config"),
        format_given=bool(_raw(env, "format")),
        tags=tags,
        result_file=_raw(env, "result-file"),
        files=files,
        checksums=checksums,
        github_release=release,
        create_release=create,
        upload_files=upload,
        release_repository=release_repository,
        allow_unsigned=allow_unsigned,
        paths=paths,
        base=base,
        require_policy=require_policy,
        require_digest=require_digest,
        comment=_choice(env, "comment", COMMENT_MODES, COMMENT_MODES[0]),
        check_name=" ".join(_raw(env, "check-name").split()) or DEFAULT_CHECK_NAME,
    )
