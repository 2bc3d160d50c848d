"""Blob uploads take one request where the registry allows it, and two where it does not.

distribution 2.8 ignores `POST ?digest=` with a body: it opens an upload session (202) and the
body goes nowhere. The client then sends the body with `PUT`, remembers the answer, and opens
every later upload to that registry with a bare `POST`, so no body is sent twice again.
"""

from __future__ import annotations

from integration.oci.images import ClientFactory
from shipsign.oci import Digest, Repository
from stack.fault_proxy import FaultProxy


def _uploads(proxy: FaultProxy) -> list[tuple[str, bool, int]]:
    """(method, whether the path carries ?digest=, status) of every upload request."""
    return [
        (r.method, "digest=" in r.path, r.status)
        for r in proxy.requests
        if "/blobs/uploads/" in r.path
    ]


def test_a_registry_that_ignores_monolithic_uploads_is_probed_once(
    fault_proxy: FaultProxy, make_client: ClientFactory, repo: str
) -> None:
    client = make_client(fault_proxy.registry)
    target = Repository.parse(f"{fault_proxy.host}/{repo}")
    first = client.push_blob(target, b"first blob " + repo.encode(), check_first=False)
    second = client.push_blob(target, b"second blob " + repo.encode(), check_first=False)
    assert _uploads(fault_proxy) == [
        ("POST", True, 202),  # the probe: body and digest sent, the registry ignored both
        ("PUT", True, 201),
        ("POST", False, 202),  # remembered: a bare POST opens the session
        ("PUT", True, 201),
    ]
    for digest, data in ((first, b"first blob "), (second, b"second blob ")):
        assert client.fetch_blob(target, digest, max_bytes=100) == data + repo.encode()
    assert first == Digest.of(b"first blob " + repo.encode())
