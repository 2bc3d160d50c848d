"""Read the action's inputs from the runner's `INPUT_*` environment into one typed value.

The runner sets `INPUT_` + the input name upper-cased with spaces turned into `_`; hyphens are
kept (`github-token` arrives as `INPUT_GITHUB-TOKEN`). Every input is read through `_raw`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shipsign.errors import InputError
from shipsign.keyless.policy_options import POLICY_OPTIONS
from shipsign.secret import Secret

__all__ = [
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
    "result-file",
    "summary",
)


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


def parse_inputs(env: Mapping[str, str]) -> ActionInputs:
    """Parse every input; raise InputError naming the first input that is wrong."""
    token = _raw(env, "github-token")
    if not _raw(env, "command"):
        # No default: a workflow that forgot `command:` must not start signing.
        raise InputError("input `command` is required", expected="sign or verify", found="nothing")
    command = _choice(env, "command", ("sign", "verify"), "sign")
    tags = _list(env, "tags")
    if tags and command != "sign":
        raise InputError(
            "input `tags` is for `command: sign`",
            expected="no tags with verify",
            found=", ".join(tags),
        )
    files = _lines(env, "files")
    checksums = _raw(env, "checksums")
    if (files or checksums) and command != "sign":
        raise InputError(
            "inputs `files` and `checksums` are for `command: sign`",
            expected="no files with verify (use `shipsign verify-blob`)",
            found=", ".join(files) or checksums,
        )
    formats = ("both", "bundle", "legacy") if command == "sign" else ("any", "bundle", "legacy")
    return ActionInputs(
        command=command,
        images=_list(env, "images"),
        format=_choice(env, "format", formats, formats[0]),
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
    )
