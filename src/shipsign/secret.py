"""What must never be printed: `Secret` holds a credential, `redact` takes credentials out of
text. Every output path (CLI, Action, logs, JSON, files, exception chains) goes through
`redact`; it is the only place that knows what a credential looks like (stdlib only)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl

__all__ = ["Secret", "redact", "remember"]

# Values shorter than this are not remembered: removing "ab" from every line would garble the
# output and hide nothing a reader could not guess.
_MIN_REMEMBERED = 4
_known: set[str] = set()  # the credentials `remember`ed by this process; guarded by _known_lock
_known_lock = threading.Lock()


class Secret:
    """Hold a credential; `str()` and `repr()` show `***`, `.reveal()` gives the value.

    Call `.reveal()` only where a request header is built. Where a credential enters (the
    Action's inputs, the CLI's identity token), `remember` it: `redact` then removes its value
    from everything printed, even from a library's error message or a traceback.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value. Only for building an Authorization header."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def remember(*secrets: Secret) -> None:
    """Have `redact` remove these values from all later output of this process (values shorter
    than four characters excepted)."""
    with _known_lock:
        _known.update(s.reveal() for s in secrets if len(s.reveal()) >= _MIN_REMEMBERED)


# Anything shaped like a JWT (an OIDC token, a registry bearer token).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2}")
# An Authorization header's credentials, as a library may quote a request.
_AUTH = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
# user:password@ in a URL.
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^\s/@:'\"]+:[^\s/@'\"]*@", re.IGNORECASE)
# A URL path's query: upload locations and presigned blob URLs carry state and signatures there.
_QUERY = re.compile(r"(/[^\s?#'\"]*)\?([^\s'\")#]+)")
# Query parameters that never carry a secret; a query of only these is kept (Rekor search
# links, the referrers API's artifactType filter, pagination).
_PLAIN_PARAMS = frozenset({"logIndex", "artifactType", "n", "last", "digest"})


def _query(match: re.Match[str]) -> str:
    params = parse_qsl(match.group(2), keep_blank_values=True)
    if params and all(name in _PLAIN_PARAMS for name, _ in params):
        return match.group(0)
    return match.group(1) + "?…"


def redact(text: str, secrets: Iterable[str | Secret] = ()) -> str:
    """`text` without credentials: every `remember`ed value, `secrets`, anything
    shaped like a JWT or an Authorization header's credentials, `user:password@` in URLs, and
    URL query strings (all but a few known-harmless parameters), each replaced by `***` or `?…`.
    """
    with _known_lock:
        values = set(_known)
    values.update(s.reveal() if isinstance(s, Secret) else s for s in secrets)
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, "***")
    text = _JWT.sub("***", text)
    text = _AUTH.sub(lambda m: f"{m.group(1)} ***", text)
    text = _USERINFO.sub(r"\1***@", text)
    return _QUERY.sub(_query, text)
