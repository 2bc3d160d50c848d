"""WWW-Authenticate parsing, realm checks, token responses and per-scope auth state."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.errors import AuthError, InputError
from shipsign.oci.auth import (
    Authenticator,
    Challenge,
    check_realm,
    parse_token_response,
    parse_www_authenticate,
    repository_scope,
)
from shipsign.oci.credentials import Credential
from shipsign.secret import Secret

GHCR = 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/app:pull"'


def test_parse_ghcr_challenge() -> None:
    (challenge,) = parse_www_authenticate(GHCR)
    assert challenge.scheme == "bearer"
    assert dict(challenge.params) == {
        "realm": "https://ghcr.io/token",
        "service": "ghcr.io",
        "scope": "repository:acme/app:pull",
    }


@pytest.mark.parametrize(
    ("header", "schemes", "params"),
    [
        ('Basic realm="Registry Realm"', ["basic"], [{"realm": "Registry Realm"}]),
        ("basic", ["basic"], [{}]),
        ("Bearer realm=", ["bearer"], [{}]),  # a token68, not an empty parameter
        ('BEARER  realm = "a" , service=b', ["bearer"], [{"realm": "a", "service": "b"}]),
        ('Bearer realm="q\\"uote\\\\d"', ["bearer"], [{"realm": 'q"uote\\d'}]),
        (
            'Negotiate abc==, Basic realm="x", Bearer realm="y",scope="a b"',
            ["negotiate", "basic", "bearer"],
            [{}, {"realm": "x"}, {"realm": "y", "scope": "a b"}],
        ),
    ],
)
def test_parse_variants(header: str, schemes: list[str], params: list[dict[str, str]]) -> None:
    found = parse_www_authenticate(header)
    assert [c.scheme for c in found] == schemes
    assert [dict(c.params) for c in found] == params


@pytest.mark.parametrize("header", ["", "   ", 'Bearer realm="open', "=x", 'Bearer a="b" c'])
def test_malformed_challenges_raise_input_error(header: str) -> None:
    with pytest.raises(InputError, match="WWW-Authenticate"):
        parse_www_authenticate(header)


_tokens = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True)
_values = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=20)


@given(
    st.lists(
        st.tuples(_tokens, st.dictionaries(_tokens.map(str.lower), _values, max_size=4)),
        min_size=1,
        max_size=3,
    )
)
def test_challenge_round_trip(items: list[tuple[str, dict[str, str]]]) -> None:
    challenges = [Challenge(scheme.lower(), MappingProxyType(params)) for scheme, params in items]
    header = ", ".join(str(c) for c in challenges)
    assert [(c.scheme, dict(c.params)) for c in parse_www_authenticate(header)] == [
        (c.scheme, dict(c.params)) for c in challenges
    ]


@given(st.text(max_size=200))
def test_hostile_headers_raise_only_input_error(header: str) -> None:
    with contextlib.suppress(InputError):
        parse_www_authenticate(header)


@pytest.mark.parametrize(
    ("realm", "registry", "insecure", "ok"),
    [
        ("https://ghcr.io/token", "ghcr.io", False, True),
        ("https://auth.docker.io/token", "index.docker.io", False, True),
        ("http://auth.docker.io/token", "index.docker.io", False, False),  # https unless insecure
        ("http://127.0.0.1:9000/token", "127.0.0.1:5000", True, True),
        ("https://169.254.169.254/latest", "ghcr.io", False, False),  # cloud metadata
        ("https://[fe80::1]/t", "ghcr.io", False, False),
        ("https://10.0.0.5/token", "ghcr.io", False, False),  # public registry → internal host
        ("https://10.0.0.5/token", "10.0.0.4:5000", False, True),
        ("https://127.0.0.1/token", "localhost:5000", False, True),
        ("https://127.0.0.1/token", "[::1]:5000", False, True),
        # a public name that merely starts with "localhost" may not point us at this machine
        ("https://127.0.0.1/token", "localhost.evil.example", False, False),
        ("https://10.0.0.5/token", "localhostregistry.example:443", False, False),
        ("ftp://x/token", "x", True, False),
        ("https:///token", "x", False, False),
    ],
)
def test_check_realm(realm: str, registry: str, insecure: bool, ok: bool) -> None:
    if ok:
        assert check_realm(realm, registry_host=registry, insecure=insecure) == realm
    else:
        with pytest.raises(AuthError):
            check_realm(realm, registry_host=registry, insecure=insecure)


def test_token_response() -> None:
    token = parse_token_response(b'{"token":"abc","expires_in":300}', now=1000.0)
    assert token.value == Secret("abc")
    assert 1000 + 240 <= token.expires_at < 1300
    assert parse_token_response(b'{"access_token":"x"}', now=0).value == Secret("x")
    assert parse_token_response(b'{"token":"x","expires_in":"soon"}', now=0).expires_at <= 60
    for bad in (b"", b"[]", b'{"token":""}', b'{"token":5}'):
        with pytest.raises(InputError, match="token"):
            parse_token_response(bad, now=0)


def test_scopes() -> None:
    assert repository_scope("acme/app") == "repository:acme/app:pull"
    assert repository_scope("acme/app", push=True) == "repository:acme/app:pull,push"


def _static(cred: Credential | None) -> Mapping[str, Credential | None]:
    return {"r.io": cred}


def test_authenticator_stays_anonymous_until_asked() -> None:
    looked_up: list[str] = []

    def creds(host: str) -> Credential | None:
        looked_up.append(host)
        return Credential(username="u", password=Secret("p"))

    auth = Authenticator("r.io", creds, insecure=False)
    assert auth.header("repository:a:pull", now=0) is None
    assert auth.pending_token("repository:a:pull") is None
    assert looked_up == []  # no credential lookup for a registry that never asked
    assert auth.challenge('Basic realm="r"', "repository:a:pull") is None
    assert auth.header("repository:a:pull", now=0) == "Basic " + base64.b64encode(b"u:p").decode()
    assert looked_up == ["r.io"]


def test_authenticator_bearer_tokens_per_scope() -> None:
    auth = Authenticator(
        "r.io", lambda _h: Credential(username="u", password=Secret("p")), insecure=False
    )
    pull, push = repository_scope("a"), repository_scope("a", push=True)
    request = auth.challenge('Bearer realm="https://auth.r.io/t",service="r.io"', pull)
    assert request is not None
    assert (request.url, request.service, request.scopes) == (
        "https://auth.r.io/t",
        "r.io",
        (pull,),
    )
    assert request.basic == Secret("Basic " + base64.b64encode(b"u:p").decode())
    auth.store(request, parse_token_response(b'{"token":"T1","expires_in":120}', now=0))
    assert auth.header(pull, now=10) == "Bearer T1"
    assert auth.header(pull, now=200) is None  # expired
    assert auth.header(push, now=10) is None  # pull does not cover push
    wider = auth.pending_token(push)
    assert wider is not None
    assert wider.scopes == (push,)
    auth.store(wider, parse_token_response(b'{"token":"T2"}', now=0))
    assert auth.header(pull, now=10) in ("Bearer T1", "Bearer T2")
    assert auth.header(push, now=10) == "Bearer T2"


def test_authenticator_adds_the_scopes_the_registry_names() -> None:
    auth = Authenticator("r.io", lambda _h: None, insecure=False)
    request = auth.challenge(
        'Bearer realm="https://r.io/t",scope="repository:other:pull repository:a:pull"',
        "repository:a:pull,push",
    )
    assert request is not None
    assert request.scopes == ("repository:a:pull,push", "repository:other:pull")
    assert request.basic is None  # anonymous token


def test_authenticator_basic_without_login_and_unknown_schemes_fail() -> None:
    auth = Authenticator("r.io", lambda _h: None, insecure=False)
    with pytest.raises(AuthError, match="requires a login") as info:
        auth.challenge('Basic realm="x"', "repository:a:pull")
    assert info.value.scope == "repository:a:pull"
    with pytest.raises(AuthError, match="without a Basic or Bearer"):
        auth.challenge("Negotiate", "repository:a:pull")
    with pytest.raises(AuthError, match="without a realm"):
        auth.challenge("Bearer service=x", "repository:a:pull")


def test_registry_token_is_sent_as_bearer() -> None:
    auth = Authenticator("r.io", lambda _h: Credential(registry_token=Secret("RT")), insecure=False)
    auth.challenge('Bearer realm="https://r.io/t"', "repository:a:pull")
    assert auth.pending_token("repository:a:pull") is None
    assert auth.header("repository:a:pull", now=0) == "Bearer RT"
