"""Where registry credentials come from: docker/podman config files, credential helpers, env.

A `Keychain` maps a registry to a `Credential` (or `None`: anonymous). Challenges and tokens
are `auth.py`'s job. Every secret is a `Secret`; nothing here logs or prints one.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from shipsign.errors import InputError
from shipsign.oci.reference import DOCKER_HUB, normalize_registry
from shipsign.secret import Secret

__all__ = [
    "ChainKeychain",
    "Credential",
    "DockerConfig",
    "DockerConfigKeychain",
    "EnvKeychain",
    "Keychain",
    "StaticKeychain",
    "default_keychain",
    "parse_docker_config",
    "registry_key",
]

_log = logging.getLogger(__name__)
_HUB_HELPER_URL = "https://index.docker.io/v1/"  # the key docker login uses for Docker Hub
_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """A login for one registry: username + password, or a token docker stored for us."""

    username: str = ""
    password: Secret | None = None
    identity_token: Secret | None = None  # OAuth2 refresh token ("identitytoken")
    registry_token: Secret | None = None  # a bearer token to send as is ("registrytoken")


class Keychain(Protocol):
    """Finds the credential for a registry host; `None` means anonymous."""

    def credential_for(self, registry: str) -> Credential | None:
        """Return the credential for `registry` (a normalised host[:port])."""
        ...


def registry_key(text: str) -> str:
    """Normalise a config key or host (`https://index.docker.io/v1/`, `GHCR.io`) for matching."""
    host = text.strip()
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme) :]
    return normalize_registry(host.split("/", 1)[0]).lower()


@dataclass(frozen=True, slots=True)
class DockerConfig:
    """The parts of a docker `config.json` (or podman `auth.json`) that hold credentials."""

    auths: Mapping[str, Credential]
    creds_store: str | None
    cred_helpers: Mapping[str, str]


def parse_docker_config(text: str, *, source: str) -> DockerConfig:
    """Decode a docker/podman config file; raise `InputError` naming `source` if malformed."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"invalid JSON in {source}", found=str(exc)[:200]) from None
    if not isinstance(doc, dict):
        raise InputError(f"invalid {source}: expected a JSON object")
    auths: dict[str, Credential] = {}
    raw_auths = doc.get("auths", {})
    if not isinstance(raw_auths, dict):
        raise InputError(f"invalid {source}: 'auths' must be an object")
    for key, entry in raw_auths.items():
        cred = _parse_auth_entry(entry, where=f"{source}: auths[{key!r}]")
        if cred is not None:
            auths.setdefault(registry_key(key), cred)
    store = doc.get("credsStore")
    helpers = doc.get("credHelpers", {})
    if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
        raise InputError(f"invalid {source}: 'credHelpers' must map hosts to helper names")
    return DockerConfig(
        auths=MappingProxyType(auths),
        creds_store=store if isinstance(store, str) and store else None,
        cred_helpers=MappingProxyType({registry_key(k): str(v) for k, v in helpers.items()}),
    )


def _parse_auth_entry(entry: object, *, where: str) -> Credential | None:
    if not isinstance(entry, dict):
        raise InputError(f"invalid {where}: expected an object")
    fields = {k: v for k, v in entry.items() if isinstance(v, str) and v}
    username, password = fields.get("username", ""), fields.get("password")
    if "auth" in fields:
        username, password = _decode_basic(fields["auth"], where=where)
    identity, registry_token = fields.get("identitytoken"), fields.get("registrytoken")
    if password is None and identity is None and registry_token is None:
        return None  # e.g. `{}` entries docker writes when a credsStore holds the secret
    return Credential(
        username=username,
        password=Secret(password) if password is not None else None,
        identity_token=Secret(identity) if identity is not None else None,
        registry_token=Secret(registry_token) if registry_token is not None else None,
    )


def _decode_basic(value: str, *, where: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        # Never echo the value: it is the password.
        raise InputError(f"invalid {where}: 'auth' is not base64 of user:password") from None
    username, sep, password = text.partition(":")
    if not sep:
        raise InputError(f"invalid {where}: 'auth' does not contain 'user:password'")
    return username, password


class DockerConfigKeychain:
    """Credentials from docker's config (`$DOCKER_CONFIG` or `~/.docker/config.json`), its
    credential helpers, then podman's auth file (`$REGISTRY_AUTH_FILE` or
    `$XDG_RUNTIME_DIR/containers/auth.json`).

    Files are read once, on first use; helpers run (`docker-credential-<name> get`) per lookup.
    Thread-safe.
    """

    def __init__(self, env: Mapping[str, str] | None = None, *, home: Path | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._home = home if home is not None else Path.home()
        self._lock = threading.Lock()
        self._configs: tuple[tuple[str, DockerConfig], ...] | None = None  # guarded by _lock

    def credential_for(self, registry: str) -> Credential | None:
        """Return the first credential a config file or its helper has for `registry`."""
        key = registry_key(registry)
        for source, config in self._load():
            helper = config.cred_helpers.get(key)
            if helper is not None:
                return _run_helper(helper, key, env=self._env)
            if config.creds_store is not None:
                found = _run_helper(config.creds_store, key, env=self._env)
                if found is not None:
                    return found
            if key in config.auths:
                _log.debug("credential for %s from %s", key, source)
                return config.auths[key]
        return None

    def _paths(self) -> list[Path]:
        docker_dir = self._env.get("DOCKER_CONFIG")
        paths = [Path(docker_dir) if docker_dir else self._home / ".docker"]
        paths[0] = paths[0] / "config.json"
        if self._env.get("REGISTRY_AUTH_FILE"):
            paths.append(Path(self._env["REGISTRY_AUTH_FILE"]))
        elif self._env.get("XDG_RUNTIME_DIR"):
            paths.append(Path(self._env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
        return paths

    def _load(self) -> tuple[tuple[str, DockerConfig], ...]:
        with self._lock:
            if self._configs is None:
                loaded = []
                for path in self._paths():
                    try:
                        text = path.read_text(encoding="utf-8")
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        raise InputError(f"cannot read {path}", found=str(exc)) from None
                    loaded.append((str(path), parse_docker_config(text, source=str(path))))
                self._configs = tuple(loaded)
            return self._configs


def _run_helper(name: str, key: str, *, env: Mapping[str, str]) -> Credential | None:
    program = f"docker-credential-{name}"
    server = _HUB_HELPER_URL if key == DOCKER_HUB else key
    try:
        proc = subprocess.run(  # noqa: S603  # fixed argv; the helper name comes from the config
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=_HELPER_TIMEOUT,
            env=dict(env),
            check=False,
        )
    except FileNotFoundError:
        raise InputError(
            f"credential helper {program} is not installed",
            hint=f"install it or remove it from the docker config for {key}",
        ) from None
    except subprocess.TimeoutExpired:
        raise InputError(f"credential helper {program} did not answer within 30 s") from None
    if proc.returncode != 0:
        if b"credentials not found" in proc.stdout + proc.stderr:
            return None
        raise InputError(
            f"credential helper {program} failed for {server}",
            found=f"exit status {proc.returncode}",
        )
    return _parse_helper_output(proc.stdout, program=program)


def _parse_helper_output(out: bytes, *, program: str) -> Credential:
    try:
        doc = json.loads(out)
    except ValueError:
        raise InputError(f"credential helper {program} printed invalid JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Secret"), str):
        raise InputError(f"credential helper {program} gave no 'Secret'")
    username, secret = str(doc.get("Username") or ""), Secret(doc["Secret"])
    if username == "<token>":  # docker's marker for an identity token
        return Credential(identity_token=secret)
    return Credential(username=username, password=secret)


class StaticKeychain:
    """Explicit logins, e.g. `--login HOST USERNAME PASSWORD` or the Action's inputs."""

    def __init__(self, logins: Mapping[str, Credential]) -> None:
        self._logins = {registry_key(host): cred for host, cred in logins.items()}

    def credential_for(self, registry: str) -> Credential | None:
        """Return the login given for `registry`, if any."""
        return self._logins.get(registry_key(registry))


class EnvKeychain:
    """`GITHUB_TOKEN` for ghcr.io (GHCR accepts any username; we send `GITHUB_ACTOR`)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        source = os.environ if env is None else env
        self._token = source.get("GITHUB_TOKEN") or None
        self._actor = source.get("GITHUB_ACTOR") or "shipsign"

    def credential_for(self, registry: str) -> Credential | None:
        """Return the GitHub token login for ghcr.io, else `None`."""
        if self._token is None or registry_key(registry) != "ghcr.io":
            return None
        return Credential(username=self._actor, password=Secret(self._token))


class ChainKeychain:
    """Ask several keychains in order; the first credential wins."""

    def __init__(self, *keychains: Keychain) -> None:
        self._keychains = keychains

    def credential_for(self, registry: str) -> Credential | None:
        """Return the first credential any keychain has for `registry`."""
        for keychain in self._keychains:
            found = keychain.credential_for(registry)
            if found is not None:
                return found
        return None


def default_keychain(env: Mapping[str, str] | None = None) -> Keychain:
    """Docker/podman config first (what `docker login` wrote), then `GITHUB_TOKEN`."""
    return ChainKeychain(DockerConfigKeychain(env), EnvKeychain(env))
