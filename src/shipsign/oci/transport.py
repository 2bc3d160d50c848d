"""HTTP for one registry: a urllib3 pool manager, timeouts, retries, body caps.

The one place HTTP exceptions enter shipsign's registry code: they leave as `RegistryError`.
When to retry is `shipsign.retry`'s policy; auth is `auth.py`'s, the distribution API
`client.py`'s. urllib3 is used directly rather than through `requests`: a registry run makes
hundreds of small requests, and `requests`' per-request preparation and merging cost twice
urllib3's CPU for nothing this module needs (`bench/verify.py` measures the difference).
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import certifi
import urllib3
from requests.utils import get_environ_proxies, select_proxy
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as HTTPTimeoutError

from shipsign import __version__
from shipsign.errors import InputError, RegistryError
from shipsign.retry import RetryClock, RetryPolicy, retry_call
from shipsign.secret import redact

__all__ = [
    "ERROR_MAX_BYTES",
    "MAX_IN_FLIGHT",
    "Call",
    "Reply",
    "ResponseHook",
    "Transport",
    "environ_proxy",
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
_USER_AGENT = f"shipsign/{__version__}"
# Connection refused or reset, DNS, timeouts, a body cut short, a proxy that failed: another
# try may succeed. A TLS failure (also an `HTTPError`) never retries; see `Transport.send`.
_RETRYABLE_EXC = (HTTPTimeoutError, ProtocolError, ProxyError)


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
    method: str = "GET"


# Called with every reply as it arrives (retries, redirects and token requests included),
# before shipsign looks at it: for counting requests in tests and benchmarks.
ResponseHook = Callable[[Reply], object]

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

    One urllib3 pool manager, configured once and never mutated: TLS verification on (the
    given CA bundle, else certifi's), no cookies, no `.netrc`, no retries of urllib3's own
    (ours are `shipsign.retry`'s), redirects followed here so that credentials stay home.
    """

    def __init__(
        self,
        *,
        verify: bool | str = True,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        proxy_for: Callable[[str], str | None] | None = None,
        response_hook: ResponseHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: RetryClock | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        """`verify`: True (certifi's CAs), a CA bundle file or directory, or False (no check).

        `proxy_for` names the forward proxy for a URL, `None` for none (default: the
        environment's, `environ_proxy`); it is asked once per origin, so that a redirect to
        blob storage goes through the proxy that host needs. `clock` (sleep, elapsed
        time, wall clock for `Retry-After` dates) replaces `sleep`. At most `max_in_flight`
        requests are on the wire at once, however many threads send: a registry's rate limits
        count per host, so the bound is the host's, not the run's.
        """
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._tls = _tls_options(verify)
        self._proxy_for = proxy_for or environ_proxy
        self._lock = threading.Lock()
        # One pool manager per origin's proxy (None: direct); guarded by _lock.
        self._managers: dict[str | None, urllib3.PoolManager] = {}
        # Each origin's manager; written under _lock, read without it (a dict read is atomic).
        self._routes: dict[tuple[str, str, int | None], urllib3.PoolManager] = {}
        self._timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self._retry = retry or RetryPolicy()
        self._hook = response_hook
        self._clock = clock or RetryClock(sleep=sleep)
        self._slots = threading.BoundedSemaphore(max_in_flight)

    def close(self) -> None:
        """Close pooled connections."""
        with self._lock:
            managers = list(self._managers.values())
        for manager in managers:
            manager.clear()

    def _manager(self, url: str) -> urllib3.PoolManager:
        key = origin(url)
        found = self._routes.get(key)  # every request: no lock once the route is known
        if found is not None:
            return found
        with self._lock:
            found = self._routes.get(key)
            if found is None:
                proxy = self._proxy_for(url)
                found = self._managers.get(proxy)
                if found is None:
                    found = self._managers[proxy] = _pool_manager(self._tls, proxy)
                self._routes[key] = found
            return found

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
            except SSLError as exc:
                raise self._tls_error(call, method, url, exc) from exc
            except ProxyError as exc:
                cause = exc.original_error
                if isinstance(cause, SSLError | ssl.SSLError):  # the proxy's own certificate
                    raise self._tls_error(call, method, url, exc) from exc
                if str(cause).startswith("Tunnel connection failed: 407"):  # http.client's
                    raise _proxy_refused(call, method, url) from exc  # words; retry won't help
                return _Transient(why=_describe(exc))
            except _RETRYABLE_EXC as exc:
                return _Transient(why=_describe(exc))
            except (HTTPError, OSError, ValueError) as exc:  # not worth retrying: a bad URL
                raise _error(call, method, url, "the request failed", found=_describe(exc)) from exc
            if reply.status == 407:  # a plain-HTTP request the proxy did not relay
                raise _proxy_refused(call, method, url)
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
            target = urljoin(url, location)
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                raise _error(
                    call,
                    method,
                    url,  # where the redirect came from; where it points is not for logs
                    "the registry redirected to a URL that is not HTTP(S)",
                    expected="an http:// or https:// Location",
                    found=f"{urlsplit(target).scheme}://…",
                )
            url = target
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
        sent = {"User-Agent": _USER_AGENT, **headers}
        if body is None and method == "DELETE":
            sent["Content-Length"] = "0"  # as requests sends it; some proxies want one (411)
        with self._slots:
            resp = self._manager(url).urlopen(
                method,
                url,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                timeout=self._timeout,
                preload_content=False,
            )
            try:
                status = resp.status
                limit = max_bytes if 200 <= status < 300 else ERROR_MAX_BYTES
                read = b"" if method == "HEAD" else _read_capped(resp, limit, status >= 300)
                # Header names once each, repeated fields joined with ", " (RFC 9110 5.3).
                headers_out = {k.lower(): resp.headers[k] for k in resp.headers}
            finally:
                resp.release_conn()
        reply = Reply(status=status, headers=headers_out, body=read or b"", url=url, method=method)
        if self._hook is not None:
            self._hook(reply)  # every reply, the ones refused below included
        if read is None:
            raise _error(
                call,
                method,
                url,
                f"the response is larger than {limit} bytes",
                status=status,
                expected=f"at most {limit} bytes",
            )
        return reply

    def _tls_error(self, call: Call, method: str, url: str, exc: Exception) -> RegistryError:
        return _error(
            call,
            method,
            url,
            "TLS verification failed",
            found=_describe(exc),
            hint="trust the registry's CA with REQUESTS_CA_BUNDLE or SSL_CERT_FILE",
        )


def environ_proxy(url: str) -> str | None:
    """The forward proxy for `url` from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
    `ALL_PROXY`, `NO_PROXY` with its host, domain and CIDR forms, as `requests` reads them);
    `None` for a direct connection."""
    proxy: str | None = select_proxy(url, get_environ_proxies(url))
    return proxy


def _tls_options(verify: bool | str) -> dict[str, Any]:
    if verify is False:
        return {"cert_reqs": "CERT_NONE"}
    if verify is True:
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
    if os.path.isdir(verify):
        return {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": verify}
    if os.path.isfile(verify):
        return {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify}
    raise InputError(
        "the CA bundle does not exist",
        where=verify,
        expected="a PEM file or a directory of CA certificates",
        hint="check REQUESTS_CA_BUNDLE, SSL_CERT_FILE and CURL_CA_BUNDLE",
    )


def _pool_manager(tls: Mapping[str, Any], proxy: str | None) -> urllib3.PoolManager:
    options: dict[str, Any] = {"num_pools": 4, "maxsize": 16, "block": False, **tls}
    if proxy is None:
        return urllib3.PoolManager(**options)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme not in ("http", "https"):
        raise InputError(
            "unsupported proxy scheme",
            found=f"{parts.scheme}:// (from HTTPS_PROXY, HTTP_PROXY or ALL_PROXY)",
            expected="an http:// or https:// forward proxy",
        )
    auth = None
    if parts.username is not None:
        auth = urllib3.make_headers(
            proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        )
    bare = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # [::1]:3128 stays bracketed
    return urllib3.ProxyManager(bare, proxy_headers=auth, **options)


def _proxy_refused(call: Call, method: str, url: str) -> RegistryError:
    return _error(
        call,
        method,
        url,
        "the proxy refused the request: it wants credentials (HTTP 407)",
        status=407,
        expected="credentials the proxy accepts",
        hint="put them in the proxy's URL: HTTPS_PROXY=http://USER:PASSWORD@HOST:PORT "
        "(percent-encode special characters)",
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


def _read_capped(resp: urllib3.BaseHTTPResponse, limit: int, truncate: bool) -> bytes | None:
    """The body, or `None` when it is over `limit` (cut to `limit` when `truncate`)."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit and not truncate:
        resp.close()  # unread bytes: the connection cannot go back to the pool
        return None
    chunks, size = [], 0
    while chunk := resp.read(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            resp.close()
            return b"".join(chunks)[:limit] if truncate else None
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    """Name the failure by exception types and OS error text; never the URL or its query."""
    root: BaseException = exc
    for _ in range(8):  # urllib3 → http.client → socket errors nest a few levels deep
        inner = getattr(root, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in root.args if isinstance(a, BaseException)), None)
        inner = inner or root.__cause__ or root.__context__
        if inner is None:
            break
        root = inner
    name = _failure_name(exc)
    if root is exc:
        return name
    detail = root.strerror if isinstance(root, OSError) and root.strerror else ""
    return f"{name} ({type(root).__name__}{': ' + detail if detail else ''})"


def _failure_name(exc: BaseException) -> str:
    """A failure's name in the words Python HTTP users know (requests' exception names), not
    urllib3's class names, which say where it was caught rather than what happened."""
    if isinstance(exc, NewConnectionError | ProtocolError):  # refused, reset, cut short
        return "ConnectionError"
    if isinstance(exc, ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(exc, ReadTimeoutError):
        return "ReadTimeout"
    return type(exc).__name__
