"""A forward HTTP proxy on 127.0.0.1, as corporate networks put in front of registries.

Plain-HTTP targets arrive in absolute form (`GET http://host/v2/ HTTP/1.1`) and are relayed;
HTTPS targets arrive as `CONNECT host:port` and are tunnelled byte for byte (TLS stays between
the client and the registry). With `credentials` set, a request without the matching
`Proxy-Authorization: Basic` answer gets 407. `seen` lists what each request was (`Seen`).
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import urlsplit

from stack.fault_proxy import HOP_BY_HOP

__all__ = ["ForwardProxy", "Seen"]


class Seen(NamedTuple):
    """One request the proxy received."""

    method: str
    target: str  # absolute URL, or host:port for CONNECT
    authorized: bool  # the expected Proxy-Authorization was sent
    content_length: str | None  # the request's Content-Length header, if any


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class ForwardProxy:
    """Start with `ForwardProxy(credentials="user:pass" or None)`; `url` is its address
    (`host="::1"`: on IPv6 loopback, `http://[::1]:PORT`)."""

    def __init__(self, credentials: str | None = None, *, host: str = "127.0.0.1") -> None:
        self.credentials = credentials
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _admit(self) -> bool:
                expected = None
                if proxy.credentials is not None:
                    token = base64.b64encode(proxy.credentials.encode()).decode()
                    expected = f"Basic {token}"
                sent = self.headers.get("Proxy-Authorization")
                authorized = expected is not None and sent == expected
                with proxy._lock:
                    length = self.headers.get("Content-Length")
                    proxy.seen.append(Seen(self.command, self.path, authorized, length))
                if expected is None or authorized:
                    return True
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False

            def do_CONNECT(self) -> None:
                if not self._admit():
                    return
                host, _, port = self.path.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=10)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                ends = [self.connection, upstream]
                try:
                    while True:
                        ready, _, _ = select.select(ends, [], [], 10)
                        if not ready:
                            return
                        for end in ready:
                            data = end.recv(65536)
                            if not data:
                                return
                            (upstream if end is self.connection else self.connection).sendall(data)
                finally:
                    upstream.close()
                    self.close_connection = True

            def _relay(self) -> None:
                if not self._admit():
                    return
                target = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn = http.client.HTTPConnection(target.netloc, timeout=10)
                path = target.path + (f"?{target.query}" if target.query else "")
                conn.request(self.command, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for name, value in resp.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _relay

        six = ":" in host
        self._server = (_Server6 if six else _Server)((host, 0), Handler)
        port = self._server.server_address[1]
        self.url = f"http://[{host}]:{port}" if six else f"http://{host}:{port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
