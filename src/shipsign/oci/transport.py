"""HTTP for one registry: a configured `requests.Session`, timeouts, retries, body caps.

The one place `requests` exceptions enter shipsign: they leave as `RegistryError`. When to
retry is `shipsign.retry`'s policy; auth is `auth.py`'s, the distribution API `client.py`'s.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from shipsign.errors import RegistryError
from shipsign.retry import RetryClock, RetryPolicy, retry_call
from shipsign.secret import redact

__all__ = [
    "ERROR_MAX_BYTES",
    "MAX_IN_FLIGHT",
    "Call",
    "Reply",
    "ResponseHook",
    "Transport",
    "origin",
    "parse_registry_errors",
    "url_path",
]

_log = logging.getLogger(__name__)
ERROR_MAX_BYTES = 64 * 1024  # error and token bodies
# Requests on the wire at once per registry host. Well under what GHCR and Docker Hub accept
# from one client, and enough to hide a WAN round trip behind the others.
MAX_IN_FLIGHT = 8
_REDIRECTS = 5
_RETRYABLE_EXC = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

ResponseHook = Callable[..., Any]  # requests' hook signature: (response, **kwargs)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Transient:
    """A try that failed in a way another try may fix (`retry.Transient`)."""

    why: str  # "HTTP 503", "ConnectionError (...)"
    retry_after: str | None = None
    status: int | None = None
    codes: tuple[tuple[str, str], ...] = ()  # the registry's error codes and messages


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """What a request is for, to name it in logs and errors."""

    operation: str
    registry: str
    repository: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A response read in full (within its cap); header names are lower-case."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """`(scheme, host, port)` of a URL, the default port filled in: who may get credentials."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: matches no origin of ours
        port = -1
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def url_path(url: str) -> str:
    """A URL's path (and query, `redact`ed: upload locations carry state in it), for `where`."""
    parts = urlsplit(url)
    return redact(parts.path + (f"?{parts.query}" if parts.query else ""))


def parse_registry_errors(body: bytes) -> tuple[tuple[str, str], ...]:
    """The `(code, message)` pairs of a distribution error body; empty if it is not one."""
    try:
        doc = json.loads(body[:ERROR_MAX_BYTES])
    except (ValueError, RecursionError):
        return ()
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return ()
    return tuple(
        (str(e.get("code", "")), str(e.get("message", ""))[:300])
        for e in errors[:10]
        if isinstance(e, dict)
    )


class Transport:
    """Send requests to one registry with timeouts, retries and capped bodies. Thread-safe.

    The session is configured once and never mutated: cookies off, no `trust_env` (so no
    `.netrc` credentials), our own retries instead of urllib3's, headers per request.
    """

    def __init__(
        self,
        *,
        verify: bool | str = True,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        proxies: Mapping[str, str] | None = None,
        response_hook: ResponseHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: RetryClock | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        """`clock` (sleep, elapsed time, wall clock for `Retry-After` dates) replaces `sleep`.

        At most `max_in_flight` requests are on the wire at once, however many threads send:
        a registry's rate limits count per host, so the bound is the host's, not the run's.
        """
        session = requests.Session()
        session.trust_env = False
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session
        self._verify = verify
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._proxies = dict(proxies or {})
        self._hooks = {"response": [response_hook]} if response_hook else {}
        self._clock = clock or RetryClock(sleep=sleep)
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._slots = threading.BoundedSemaphore(max_in_flight)

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def send(
        self,
        call: Call,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int = ERROR_MAX_BYTES,
        follow_redirects: bool = True,
        retry: bool = True,
    ) -> Reply:
        """Send with retries; return the first non-retryable reply.

        Raises `RegistryError` when out of retries (naming `call.operation`, with the status
        and `Retry-After` of the last answer), on TLS failure, or when a success body exceeds
        `max_bytes`. `retry=False` makes a single attempt: what would have been retried raises.
        """
        policy = self._retry if retry else replace(self._retry, attempts=1)

        def attempt(_: int) -> Reply | _Transient:
            try:
                reply = self._follow(
                    call, method, url, headers or {}, body, max_bytes, follow_redirects
                )
            except _RETRYABLE_EXC as exc:
                if isinstance(exc, requests.exceptions.SSLError):
                    raise self._tls_error(call, method, url, exc) from exc
                return _Transient(why=_describe(exc))
            except requests.RequestException as exc:  # not worth retrying: e.g. a bad URL
                raise _error(call, method, url, "the request failed", found=_describe(exc)) from exc
            if reply.status not in self._retry.statuses:
                return reply
            return _Transient(
                why=f"HTTP {reply.status}",
                status=reply.status,
                retry_after=reply.headers.get("retry-after"),
                codes=parse_registry_errors(reply.body),
            )

        def gave_up(last: _Transient, attempts: int) -> RegistryError:
            return _error(
                call,
                method,
                url,
                f"gave up after {attempts} attempt{'s' if attempts > 1 else ''}",
                status=last.status,
                codes=tuple(c for c, _ in last.codes),
                retry_after=last.retry_after,
                found=last.why + "".join(f' {c} "{m}"' for c, m in last.codes[:2]),
                hint="the registry is down, overloaded or unreachable; try again later",
            )

        def log(last: _Transient, attempts: int, wait: float) -> None:
            path = url_path(url)
            _log.debug("%s %s: %s; retry %d in %.2fs", method, path, last.why, attempts, wait)

        return retry_call(
            attempt,
            transient=_Transient,
            policy=policy,
            gave_up=gave_up,
            clock=self._clock,
            on_retry=log,
        )

    def _follow(
        self,
        call: Call,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        max_bytes: int,
        follow_redirects: bool,
    ) -> Reply:
        first = origin(url)
        for _ in range(_REDIRECTS + 1):
            reply = self._once(call, method, url, headers, body, max_bytes)
            location = reply.headers.get("location")
            if not (follow_redirects and method in ("GET", "HEAD") and location):
                return reply
            if reply.status not in (301, 302, 303, 307, 308):
                return reply
            url = urljoin(url, location)
            if origin(url) != first:
                # Blob storage redirects: credentials stay with the registry that asked, and
                # never go out in clear text (an https → http redirect to the same host).
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        raise _error(call, method, url, f"more than {_REDIRECTS} redirects")

    def _once(
        self,
        call: Call,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        max_bytes: int,
    ) -> Reply:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s", method, url_path(url))
        # What `Session.request` would send, prepared without its per-call merging (cookies
        # off, no `trust_env`, no session auth or params: only the default headers to merge).
        merged = CaseInsensitiveDict(self._session.headers)
        merged.update(headers)
        prepared = requests.Request(
            method, url, headers=merged, data=body, hooks=self._hooks
        ).prepare()
        with (
            self._slots,
            self._session.send(
                prepared,
                timeout=self._timeout,
                verify=self._verify,
                proxies=self._proxies,
                cert=None,
                allow_redirects=False,
                stream=True,
            ) as resp,
        ):
            status = resp.status_code
            limit = max_bytes if 200 <= status < 300 else ERROR_MAX_BYTES
            data = b"" if method == "HEAD" else _read_capped(resp, limit, truncate=status >= 300)
            if data is None:
                raise _error(
                    call,
                    method,
                    url,
                    f"the response is larger than {limit} bytes",
                    status=status,
                    expected=f"at most {limit} bytes",
                )
            headers_out = {k.lower(): v for k, v in resp.headers.items()}
            return Reply(status=status, headers=headers_out, body=data, url=url)

    def _tls_error(self, call: Call, method: str, url: str, exc: Exception) -> RegistryError:
        return _error(
            call,
            method,
            url,
            "TLS verification failed",
            found=_describe(exc),
            hint="trust the registry's CA with REQUESTS_CA_BUNDLE or SSL_CERT_FILE",
        )


def _error(
    call: Call,
    method: str,
    url: str,
    what: str,
    *,
    status: int | None = None,
    codes: tuple[str, ...] = (),
    retry_after: str | None = None,
    expected: str = "",
    found: str = "",
    hint: str = "",
) -> RegistryError:
    """The `RegistryError` for `call` (a `method` request to `url`) that failed as `what` says."""
    return RegistryError(
        f"cannot {call.operation} on {call.registry}: {what}",
        registry=call.registry,
        repository=call.repository,
        operation=call.operation,
        status=status,
        codes=codes,
        retry_after=retry_after,
        where=f"{method} {url_path(url)}",
        expected=expected,
        found=found,
        hint=hint,
    )


def _read_capped(resp: requests.Response, limit: int, *, truncate: bool) -> bytes | None:
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit and not truncate:
        return None
    chunks, size = [], 0
    for chunk in resp.iter_content(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit] if truncate else None
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    """Name the failure by exception types and OS error text; never the URL or its query."""
    root: BaseException = exc
    for _ in range(8):  # requests → urllib3 → socket errors nest a few levels deep
        inner = getattr(root, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in root.args if isinstance(a, BaseException)), None)
        inner = inner or root.__cause__ or root.__context__
        if inner is None:
            break
        root = inner
    if root is exc:
        return type(exc).__name__
    detail = root.strerror if isinstance(root, OSError) and root.strerror else ""
    return f"{type(exc).__name__} ({type(root).__name__}{': ' + detail if detail else ''})"
