"""HTTP for the Sigstore services: per-thread sessions with timeouts, and what a failed call
says about the service (status, Retry-After, message; or a connection error).

The one place in `keyless` that imports `requests`: sigstore's clients are built on it and raise
its exceptions (bare, or as the cause of their own), so they are read here.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from shipsign.keyless.retrying import Failure

__all__ = ["Sessions", "classify_failure"]

_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_USER_AGENT = "shipsign (sigstore-python)"
_MAX_ERROR_BYTES = 64 * 1024


def classify_failure(exc: BaseException) -> Failure | None:
    """What a failed sigstore client call says about the service; None if nothing."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, requests.HTTPError) and current.response is not None:
            return _http_failure(current.response)
        if isinstance(current, _TRANSIENT):
            return Failure(status=None, why=type(current).__name__)
        todo += [current.__cause__, current.__context__]
    return None


def _http_failure(response: requests.Response) -> Failure:
    message = ""
    try:
        doc = json.loads(response.content[:_MAX_ERROR_BYTES])
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        message = doc["message"][:300]
    return Failure(
        status=response.status_code,
        why=f"HTTP {response.status_code}",
        retry_after=response.headers.get("Retry-After"),
        message=message,
        location=response.headers.get("Location"),
    )


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request a (connect, read) timeout; urllib3 retries stay off (ours are above)."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__(max_retries=0)
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        chosen = self._timeout if timeout is None else timeout
        return super().send(
            request, stream=stream, timeout=chosen, verify=verify, cert=cert, proxies=proxies
        )


class Sessions:
    """One session per thread, as sigstore's own clients keep them, each with timeouts."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        self._timeout = timeout
        self._local = threading.local()

    def get(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
            adapter = _TimeoutAdapter(self._timeout)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._local.session = session
        return session
