"""Registry authentication: `WWW-Authenticate` challenges, scopes, bearer tokens per scope.

No HTTP here: `Authenticator` says which header to send and which token request to make;
`client.py` sends them. Distribution token auth: `distribution/distribution:
docs/content/spec/auth/token.md` (formats.md §6.1).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

from shipsign.errors import AuthError, InputError
from shipsign.oci.credentials import Credential
from shipsign.secret import Secret

__all__ = [
    "Authenticator",
    "Challenge",
    "Token",
    "TokenRequest",
    "check_realm",
    "parse_token_response",
    "parse_www_authenticate",
    "repository_scope",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_DEFAULT_EXPIRY = 60  # seconds, the token spec's default for a missing expires_in


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge from `WWW-Authenticate`: a lower-case scheme and its parameters."""

    scheme: str
    params: Mapping[str, str]

    def __str__(self) -> str:
        inner = ",".join(f'{k}="{_quote(v)}"' for k, v in self.params.items())
        return f"{self.scheme} {inner}" if inner else self.scheme


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def parse_www_authenticate(header: str) -> tuple[Challenge, ...]:
    """Parse a `WWW-Authenticate` value (RFC 7235) into challenges; `InputError` if malformed."""
    parser = _ChallengeParser(header)
    return parser.parse()


class _ChallengeParser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, why: str) -> InputError:
        return InputError(f"malformed WWW-Authenticate header: {why}", found=repr(self.text[:200]))

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def token(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def parse(self) -> tuple[Challenge, ...]:
        challenges = []
        self.skip(" \t,")
        while self.pos < len(self.text):
            scheme = self.token()
            if scheme is None:
                raise self.fail(f"expected an auth scheme at offset {self.pos}")
            self.skip(" \t")
            challenges.append(Challenge(scheme.lower(), MappingProxyType(self.params())))
            self.skip(" \t,")
        if not challenges:
            raise self.fail("no challenge")
        return tuple(challenges)

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.token68():
            return params
        while self.pos < len(self.text):
            start = self.pos
            name = self.token()
            self.skip(" \t")
            if name is None or not self.text.startswith("=", self.pos):
                self.pos = start
                return params  # a new challenge (or the end) starts here
            self.pos += 1
            self.skip(" \t")
            params[name.lower()] = self.value()
            self.skip(" \t")
            if self.pos < len(self.text) and self.text[self.pos] != ",":
                raise self.fail(f"expected ',' at offset {self.pos}")
            self.skip(" \t,")
        return params

    def token68(self) -> bool:
        # `Negotiate abc==`: a token68 ends the challenge; registries never need its value.
        match = _TOKEN68.match(self.text, self.pos)
        if match is None:
            return False
        rest = self.text[match.end() :].lstrip(" \t")
        if rest and not rest.startswith(","):
            return False  # `name=value` or `name value`: not a token68
        self.pos = match.end()
        return True

    def value(self) -> str:
        if not self.text.startswith('"', self.pos):
            value = self.token()
            if value is None:
                raise self.fail(f"expected a value at offset {self.pos}")
            return value
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
                char = self.text[self.pos]
            out.append(char)
            self.pos += 1
        raise self.fail("unterminated quoted string")


def repository_scope(path: str, *, push: bool = False) -> str:
    """`repository:<path>:pull` or `…:pull,push` (writes need both)."""
    return f"repository:{path}:{'pull,push' if push else 'pull'}"


def _covers(held: str, wanted: str) -> bool:
    if held == wanted:
        return True
    held_res, _, held_actions = held.rpartition(":")
    wanted_res, _, wanted_actions = wanted.rpartition(":")
    return held_res == wanted_res and set(wanted_actions.split(",")) <= set(held_actions.split(","))


def check_realm(realm: str, *, registry_host: str, insecure: bool) -> str:
    """Refuse token realms that could leak credentials; return the realm if acceptable.

    https only (http if the registry itself is insecure); never a link-local, multicast or
    unspecified address; a loopback/private address only when the registry is one too
    (so a public registry cannot point us at internal services).
    """
    parts = urlsplit(realm)
    allowed = ("https", "http") if insecure else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise AuthError(
            f"registry {registry_host} asks for tokens from an unacceptable realm",
            registry=registry_host,
            found=realm,
            expected="an https:// URL" if not insecure else "an http(s):// URL",
        )
    realm_ip, registry_ip = _ip(parts.hostname), _ip(_host(registry_host))
    if realm_ip is None:
        return realm
    if realm_ip.is_link_local or realm_ip.is_multicast or realm_ip.is_unspecified:
        raise AuthError(
            f"registry {registry_host} asks for tokens from a forbidden address",
            registry=registry_host,
            found=realm,
        )
    internal = realm_ip.is_loopback or realm_ip.is_private
    # The host part exactly: "localhost.example.com" is a public name, not this machine.
    registry_internal = _host(registry_host).lower() == "localhost" or (
        registry_ip is not None and (registry_ip.is_loopback or registry_ip.is_private)
    )
    if internal and not registry_internal:
        raise AuthError(
            f"public registry {registry_host} asks for tokens from an internal address",
            registry=registry_host,
            found=realm,
        )
    return realm


def _host(registry_host: str) -> str:
    """The host of `host[:port]` (IPv6 literals keep their brackets)."""
    if registry_host.startswith("["):
        return registry_host.partition("]")[0] + "]"
    return registry_host.rsplit(":", 1)[0] if registry_host.count(":") == 1 else registry_host


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and when (monotonic seconds) to stop using it."""

    value: Secret
    expires_at: float


def parse_token_response(body: bytes, *, now: float) -> Token:
    """Decode a token endpoint's JSON (`token` and/or `access_token`, `expires_in`)."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise InputError("token endpoint returned invalid JSON") from None
    if not isinstance(doc, dict):
        raise InputError("token endpoint returned JSON that is not an object")
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise InputError("token endpoint returned no token")
    expires = doc.get("expires_in", _DEFAULT_EXPIRY)
    if not isinstance(expires, int) or isinstance(expires, bool) or expires <= 0:
        expires = _DEFAULT_EXPIRY
    # Stop using it a little early so that a token never expires in flight.
    return Token(Secret(value), now + expires - min(30.0, expires / 4))


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRequest:
    """What to send to the token realm: GET with Basic (or none), or POST a refresh token."""

    url: str
    service: str | None
    scopes: tuple[str, ...]
    basic: Secret | None = None  # value for `Authorization: Basic …`
    refresh_token: Secret | None = None  # when set: POST grant_type=refresh_token


class Authenticator:
    """Auth state for one registry: the scheme it asked for and bearer tokens per scope.

    Thread-safe: the challenge and the token cache are guarded by one lock.
    """

    def __init__(
        self,
        registry: str,
        credentials: Callable[[str], Credential | None],
        *,
        insecure: bool,
    ) -> None:
        self.registry = registry
        self._credentials = credentials
        self._insecure = insecure
        self._lock = threading.Lock()
        self._credential: Credential | None = None  # guarded by _lock
        self._looked_up = False  # guarded by _lock
        self._challenge: Challenge | None = None  # guarded by _lock
        self._tokens: dict[str, Token] = {}  # scope → token; guarded by _lock

    @property
    def has_credential(self) -> bool:
        """Whether we log in (else anonymous)."""
        return self._cred() is not None

    def _cred(self) -> Credential | None:
        # Looked up only once a registry asks for auth: anonymous registries never cost a
        # credential-helper run.
        with self._lock:
            if not self._looked_up:
                self._credential = self._credentials(self.registry)
                self._looked_up = True
            return self._credential

    def header(self, scope: str, *, now: float) -> str | None:
        """The Authorization value for a request needing `scope`, if we have one."""
        with self._lock:
            challenge = self._challenge
            tokens = [t for s, t in self._tokens.items() if _covers(s, scope)]
        if challenge is None:
            return None  # nobody asked yet: stay anonymous
        if challenge.scheme == "basic":
            return self._basic_header()
        cred = self._cred()
        if cred is not None and cred.registry_token is not None:
            return f"Bearer {cred.registry_token.reveal()}"  # docker's "registrytoken"
        live = [t for t in tokens if t.expires_at > now]
        return f"Bearer {live[0].value.reveal()}" if live else None

    def pending_token(self, scope: str) -> TokenRequest | None:
        """A token request to make before sending, when the realm is known but no token is."""
        with self._lock:
            challenge = self._challenge
        if challenge is None or challenge.scheme != "bearer":
            return None
        cred = self._cred()
        if cred is not None and cred.registry_token is not None:
            return None
        return self._token_request(challenge, (scope,))

    def challenge(self, header: str | None, scope: str) -> TokenRequest | None:
        """Record a 401's challenge; return the token request to make, or None for Basic."""
        found = parse_www_authenticate(header) if header else ()
        chosen = next((c for c in found if c.scheme == "bearer"), None) or next(
            (c for c in found if c.scheme == "basic"), None
        )
        if chosen is None:
            raise AuthError(
                f"registry {self.registry} answered 401 without a Basic or Bearer challenge",
                registry=self.registry,
                scope=scope,
                found=header or "(no WWW-Authenticate header)",
            )
        with self._lock:
            self._challenge = chosen
        if chosen.scheme == "basic":
            cred = self._cred()
            if cred is None or cred.password is None:
                raise AuthError(
                    f"registry {self.registry} requires a login",
                    registry=self.registry,
                    scope=scope,
                    hint="log in with `docker login` or give credentials",
                )
            return None
        scopes = [scope]
        for extra in chosen.params.get("scope", "").split():  # space-separated, per the spec
            if not any(_covers(held, extra) for held in scopes):
                scopes.append(extra)  # the registry may want more, e.g. a mount source
        return self._token_request(chosen, tuple(scopes))

    def store(self, request: TokenRequest, token: Token) -> None:
        """Cache `token` for every scope it was requested for."""
        with self._lock:
            for scope in request.scopes:
                self._tokens[scope] = token

    def _basic_header(self) -> str | None:
        cred = self._cred()
        if cred is None or cred.password is None:
            return None
        raw = f"{cred.username}:{cred.password.reveal()}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def _token_request(self, challenge: Challenge, scopes: tuple[str, ...]) -> TokenRequest:
        realm = challenge.params.get("realm")
        if not realm:
            raise AuthError(
                f"registry {self.registry} sent a Bearer challenge without a realm",
                registry=self.registry,
                found=str(challenge),
            )
        url = check_realm(realm, registry_host=self.registry, insecure=self._insecure)
        cred = self._cred()
        basic = self._basic_header()
        return TokenRequest(
            url=url,
            service=challenge.params.get("service"),
            scopes=scopes,
            basic=Secret(basic) if basic is not None else None,
            refresh_token=cred.identity_token if cred is not None else None,
        )
