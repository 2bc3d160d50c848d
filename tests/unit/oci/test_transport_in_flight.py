"""A registry host never sees more than `max_in_flight` requests at once from one client,
however many threads send: measured on a real HTTP server that counts what is open."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shipsign.errors import InputError
from shipsign.oci import Registries
from shipsign.oci.reference import Reference
from shipsign.oci.transport import Call, Transport


class _Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0
        self.total = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Counting

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.open += 1
            srv.total += 1
            srv.peak = max(srv.peak, srv.open)
        time.sleep(0.03)  # a WAN round trip: requests overlap if the client lets them
        with srv.lock:
            srv.open -= 1
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET


@pytest.fixture
def server() -> Iterator[_Counting]:
    srv = _Counting()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_requests_in_flight_never_exceed_the_limit(server: _Counting, limit: int) -> None:
    transport = Transport(max_in_flight=limit)
    url = f"http://127.0.0.1:{server.server_address[1]}/v2/"
    call = Call(operation="probe", registry="127.0.0.1", repository="")
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            replies = list(pool.map(lambda _: transport.send(call, "GET", url), range(48)))
    finally:
        transport.close()
    assert {r.status for r in replies} == {404}
    assert server.total == 48
    assert server.peak == limit  # reached (the threads were there) and never passed


def test_one_bound_per_host_shared_by_every_thread(server: _Counting) -> None:
    host = f"127.0.0.1:{server.server_address[1]}"
    with Registries(insecure=[host], env={}, max_in_flight=2) as registries:
        ref = Reference.parse(f"{host}/acme/app:v1")

        def resolve(_: int) -> None:
            with pytest.raises(InputError, match="not found"):
                registries.client(host).resolve(ref)

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(resolve, range(16)))
    assert server.total >= 16
    assert server.peak == 2


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Transport(max_in_flight=0)
