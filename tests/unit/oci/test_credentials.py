"""Credentials come from docker/podman config files, credential helpers and env, in that order;
secrets never show in repr or errors."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.errors import InputError
from shipsign.oci.credentials import (
    ChainKeychain,
    Credential,
    DockerConfigKeychain,
    EnvKeychain,
    StaticKeychain,
    default_keychain,
    parse_docker_config,
    registry_key,
)
from shipsign.secret import Secret


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _helper(bin_dir: Path, name: str, answers: dict[str, tuple[str, str]]) -> None:
    """A real docker-credential-<name> program answering `get` from a fixed table."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"answers = {answers!r}\n"
        "assert sys.argv[1:] == ['get'], sys.argv\n"
        "server = sys.stdin.read().strip()\n"
        "if server not in answers:\n"
        "    print('credentials not found in native keychain'); sys.exit(1)\n"
        "user, secret = answers[server]\n"
        "print(json.dumps({'ServerURL': server, 'Username': user, 'Secret': secret}))\n"
    )
    script.chmod(0o755)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", **extra}


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("docker.io", "index.docker.io"),
        ("registry-1.docker.io", "index.docker.io"),
        ("GHCR.io", "ghcr.io"),
        ("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
        ("quay.io/org/repo", "quay.io"),
    ],
)
def test_registry_key_normalises(key: str, host: str) -> None:
    assert registry_key(key) == host


def test_docker_config_auths_and_hub_aliases(tmp_path: Path) -> None:
    _write(
        tmp_path / "docker" / "config.json",
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": _auth("hubuser", "hubtoken")},
                "ghcr.io": {"username": "u", "password": "p"},
                "quay.io": {"identitytoken": "refresh-me"},
                "empty.example": {},
            }
        },
    )
    keychain = DockerConfigKeychain(_env(tmp_path, DOCKER_CONFIG=str(tmp_path / "docker")))
    for alias in ("index.docker.io", "docker.io", "registry-1.docker.io"):
        cred = keychain.credential_for(alias)
        assert cred is not None
        assert cred.username == "hubuser"
        assert cred.password == Secret("hubtoken")
    ghcr = keychain.credential_for("ghcr.io")
    assert ghcr == Credential(username="u", password=Secret("p"))
    quay = keychain.credential_for("quay.io")
    assert quay is not None
    assert quay.identity_token == Secret("refresh-me")
    assert keychain.credential_for("empty.example") is None
    assert keychain.credential_for("other.example") is None


def test_home_config_and_podman_auth_file(tmp_path: Path) -> None:
    _write(
        tmp_path / "home" / ".docker" / "config.json",
        {"auths": {"a.io": {"auth": _auth("a", "1")}}},
    )
    _write(
        tmp_path / "podman.json",
        {"auths": {"b.io": {"auth": _auth("b", "2")}, "a.io": {"auth": _auth("x", "y")}}},
    )
    env = _env(tmp_path, REGISTRY_AUTH_FILE=str(tmp_path / "podman.json"))
    keychain = DockerConfigKeychain(env, home=tmp_path / "home")
    a, b = keychain.credential_for("a.io"), keychain.credential_for("b.io")
    assert a is not None
    assert b is not None
    assert (a.username, b.username) == ("a", "b")  # docker's file first, then podman's


def test_xdg_runtime_auth_file(tmp_path: Path) -> None:
    _write(
        tmp_path / "run" / "containers" / "auth.json",
        {"auths": {"c.io": {"auth": _auth("c", "3")}}},
    )
    keychain = DockerConfigKeychain(
        _env(tmp_path, XDG_RUNTIME_DIR=str(tmp_path / "run")), home=tmp_path
    )
    found = keychain.credential_for("c.io")
    assert found is not None
    assert found.password == Secret("3")


def test_cred_helpers_and_creds_store(tmp_path: Path) -> None:
    _helper(tmp_path / "bin", "per-host", {"ghcr.io": ("helper-user", "helper-secret")})
    _helper(
        tmp_path / "bin",
        "store",
        {"https://index.docker.io/v1/": ("<token>", "identity"), "quay.io": ("q", "s")},
    )
    _write(
        tmp_path / "d" / "config.json",
        {
            "credsStore": "store",
            "credHelpers": {"ghcr.io": "per-host"},
            "auths": {"file.io": {"auth": _auth("f", "g")}},
        },
    )
    keychain = DockerConfigKeychain(_env(tmp_path, DOCKER_CONFIG=str(tmp_path / "d")))
    assert keychain.credential_for("ghcr.io") == Credential(
        username="helper-user", password=Secret("helper-secret")
    )
    assert keychain.credential_for("docker.io") == Credential(identity_token=Secret("identity"))
    assert keychain.credential_for("quay.io") == Credential(username="q", password=Secret("s"))
    # the store has nothing for file.io: the auths entry is used
    assert keychain.credential_for("file.io") == Credential(username="f", password=Secret("g"))
    assert keychain.credential_for("nowhere.io") is None


def test_missing_helper_is_an_input_error(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "config.json", {"credHelpers": {"ghcr.io": "absent"}})
    keychain = DockerConfigKeychain(_env(tmp_path, DOCKER_CONFIG=str(tmp_path / "d")))
    with pytest.raises(InputError, match="docker-credential-absent is not installed"):
        keychain.credential_for("ghcr.io")


def test_bad_auth_field_does_not_echo_the_secret(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "config.json", {"auths": {"ghcr.io": {"auth": "not base64 s3cret!"}}})
    keychain = DockerConfigKeychain(_env(tmp_path, DOCKER_CONFIG=str(tmp_path / "d")))
    with pytest.raises(InputError) as info:
        keychain.credential_for("ghcr.io")
    assert "ghcr.io" in info.value.what
    assert "s3cret" not in str(info.value) + repr(info.value) + str(info.value.details())


def test_env_static_and_chain() -> None:
    env = EnvKeychain({"GITHUB_TOKEN": "ghs_abc", "GITHUB_ACTOR": "octocat"})
    assert env.credential_for("ghcr.io") == Credential(
        username="octocat", password=Secret("ghs_abc")
    )
    assert env.credential_for("docker.io") is None
    assert EnvKeychain({}).credential_for("ghcr.io") is None
    static = StaticKeychain({"docker.io": Credential(username="me", password=Secret("pw"))})
    assert static.credential_for("registry-1.docker.io") is not None
    chain = ChainKeychain(static, env)
    assert chain.credential_for("ghcr.io") == env.credential_for("ghcr.io")
    assert chain.credential_for("index.docker.io") == static.credential_for("docker.io")
    assert chain.credential_for("quay.io") is None


def test_default_keychain_prefers_docker_login_over_github_token(tmp_path: Path) -> None:
    _write(
        tmp_path / "d" / "config.json", {"auths": {"ghcr.io": {"auth": _auth("docker", "login")}}}
    )
    keychain = default_keychain({"DOCKER_CONFIG": str(tmp_path / "d"), "GITHUB_TOKEN": "t"})
    found = keychain.credential_for("ghcr.io")
    assert found is not None
    assert found.username == "docker"


def test_credentials_never_show_secrets() -> None:
    cred = Credential(username="u", password=Secret("hunter2"), identity_token=Secret("idtok"))
    assert "hunter2" not in repr(cred)
    assert "idtok" not in repr(cred)


# --------------------------------------------------------------------------- properties


@given(st.text(max_size=20).filter(lambda u: ":" not in u), st.text(max_size=30))
def test_auth_field_round_trip(user: str, password: str) -> None:
    config = parse_docker_config(
        json.dumps({"auths": {"r.io": {"auth": _auth(user, password)}}}), source="t"
    )
    assert config.auths["r.io"] == Credential(username=user, password=Secret(password))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)


@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(json.dumps, _json),
        st.builds(
            lambda a, s, h: json.dumps({"auths": a, "credsStore": s, "credHelpers": h}),
            _json,
            _json,
            _json,
        ),
        st.builds(lambda a: json.dumps({"auths": {"x.io": {"auth": a}}}), st.text(max_size=20)),
    )
)
def test_hostile_config_raises_only_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_docker_config(text, source="hostile.json")
