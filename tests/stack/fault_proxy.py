"""A plain-HTTP reverse proxy in front of a registry that injects faults on request.

Runs in the test process (threads), because tests steer it: `add_fault` queues a fault that the
next matching request consumes (connection reset, an HTTP status with headers/body, or a delay
before passing through); `requests` logs (method, path, status) for every request seen (status 0
for a reset), so tests count requests per operation. With `serve_referrers = True` the proxy
serves the OCI referrers API itself (see proxy_referrers.py). Everything else passes through
byte for byte; upstream `Location` headers are rewritten to the proxy, `WWW-Authenticate` is not.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

from stack.proxy_referrers import ReferrersStore
from stack.registry import Registry

__all__ = ["HOP_BY_HOP", "Fault", "FaultProxy", "RequestRecord"]

Action = Literal["status", "reset", "delay"]
# Hop-by-hop headers (RFC 9110 7.6.1) and the body framing we recompute.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "content-length", "host",
}  # fmt: skip


class RequestRecord(NamedTuple):
    """One request the proxy saw and the status the client got (0: connection reset)."""

    method: str
    path: str
    status: int


@dataclass
class Fault:
    """A queued fault; `times` None means forever."""

    method: str | None
    path_regex: re.Pattern[str]
    action: Action
    status: int
    headers: dict[str, str]
    body: bytes
    times: int | None
    delay: float

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_regex.search(path) is not None


@dataclass
class _Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    extra: dict[str, str] = field(default_factory=dict)


class FaultProxy:
    """The proxy; start with `start()` (or `with`), stop with `stop()`. Thread-safe."""

    def __init__(self, upstream_url: str, *, ca_bundle: Path | None = None) -> None:
        self.upstream_url = upstream_url.rstrip("/")
        parts = urlsplit(self.upstream_url)
        self._upstream_https = parts.scheme == "https"
        self._upstream_netloc = parts.netloc
        self._ssl = ssl.create_default_context(cafile=ca_bundle) if self._upstream_https else None
        self.serve_referrers = False
        self.referrers = ReferrersStore()
        self._lock = threading.Lock()
        self._faults: list[Fault] = []  # guarded by _lock
        self._log: list[RequestRecord] = []  # guarded by _lock
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.registry = Registry(name="proxy", host=self.host, url=self.url, insecure=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_fault(
        self,
        method: str | None = None,
        path_regex: str = "",
        action: Action = "status",
        status: int = 503,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        times: int | None = 1,
        delay: float = 0.0,
    ) -> Fault:
        """Queue a fault for requests whose path (with query) matches `path_regex` (re.search).

        `method` None matches any method. The first matching fault wins and uses up one of its
        `times` (None: never used up). `delay` seconds are slept first, for every action; then
        "status" answers `status` with `headers` (default `Retry-After: 1`; pass {} for none) and
        `body`, "reset" drops the connection with a TCP RST, "delay" passes the request on.
        """
        if action not in ("status", "reset", "delay"):
            raise ValueError(f"unknown fault action {action!r}")
        fault = Fault(
            method=method,
            path_regex=re.compile(path_regex),
            action=action,
            status=status,
            headers=dict(headers if headers is not None else {"Retry-After": "1"}),
            body=body,
            times=times,
            delay=delay,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Drop all queued faults."""
        with self._lock:
            self._faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request seen so far, oldest first."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append(RequestRecord(method, path, status))

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> _Response:
        """Send the request upstream and return its response with Location rewritten."""
        conn: http.client.HTTPConnection
        if self._upstream_https:
            conn = http.client.HTTPSConnection(self._upstream_netloc, timeout=60, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(self._upstream_netloc, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", self._upstream_netloc)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            out = []
            for name, value in resp.getheaders():
                if name.lower() == "location" and value.startswith(self.upstream_url):
                    value = self.url + value[len(self.upstream_url) :]
                if name.lower() not in HOP_BY_HOP or (
                    name.lower() == "content-length" and not data
                ):
                    out.append((name, value))
            return _Response(resp.status, resp.reason, out, data)
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shipsign-fault-proxy/1"
    proxy: FaultProxy  # set on the subclass built by FaultProxy

    def log_message(self, format: str, *args: Any) -> None:
        return  # the proxy's own log is FaultProxy.requests

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN. The socket really
        # closes when StreamRequestHandler.finish() closes rfile, after this method returns.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _send(self, resp: _Response, method: str) -> None:
        self.send_response_only(resp.status, resp.reason)
        for name, value in resp.headers:
            self.send_header(name, value)
        for name, value in resp.extra.items():
            self.send_header(name, value)
        if resp.body or not any(n.lower() == "content-length" for n, _ in resp.headers):
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(resp.body)

    def _handle(self) -> None:
        method, path, proxy = self.command, self.path, self.proxy
        body = self._read_body()
        fault = proxy.take_fault(method, path)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        if fault is not None and fault.action == "reset":
            proxy.record(method, path, 0)
            self._reset()
            return
        if fault is not None and fault.action == "status":
            reason = self.responses.get(fault.status, ("",))[0]
            resp = _Response(fault.status, reason, list(fault.headers.items()), fault.body)
        else:
            resp = self._pass_through(method, path, body)
        proxy.record(method, path, resp.status)
        self._send(resp, method)

    def _pass_through(self, method: str, path: str, body: bytes) -> _Response:
        proxy = self.proxy
        if proxy.serve_referrers and method in ("GET", "HEAD"):
            answer = proxy.referrers.answer(path)
            if answer is not None:
                data, headers = answer
                return _Response(200, "OK", list(headers.items()), data)
        try:
            resp = proxy.forward(method, path, list(self.headers.items()), body)
        except OSError as exc:
            msg = f"fault proxy: upstream {proxy.upstream_url} failed: {exc}".encode()
            return _Response(502, "Bad Gateway", [("Content-Type", "text/plain")], msg)
        if proxy.serve_referrers and method == "PUT" and resp.status == 201:
            subject = proxy.referrers.observe_put(path, body, self.headers.get("Content-Type"))
            if subject is not None:
                resp.extra["OCI-Subject"] = subject
        elif proxy.serve_referrers and method == "DELETE" and resp.status == 202:
            proxy.referrers.observe_delete(path)
        return resp

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle
