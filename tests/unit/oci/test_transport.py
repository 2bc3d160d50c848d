"""Registry error bodies and URL redaction (no sockets); retries: tests/unit/test_retry.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipsign.oci.transport import origin, parse_registry_errors, url_path


def test_parse_registry_errors() -> None:
    body = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
    assert parse_registry_errors(body) == (
        ("DENIED", "requested access to the resource is denied"),
    )
    assert parse_registry_errors(b"<html>502</html>") == ()
    assert parse_registry_errors(b'{"errors":"x"}') == ()
    assert parse_registry_errors(b'{"errors":[1,{"code":"X"}]}') == (("X", ""),)


@given(st.binary(max_size=200))
def test_registry_errors_never_raise(body: bytes) -> None:
    assert isinstance(parse_registry_errors(body), tuple)


def test_url_path_drops_query_state() -> None:
    assert (
        url_path("https://r.io/v2/a/blobs/uploads/u?_state=SECRET&digest=x")
        == "/v2/a/blobs/uploads/u?…"
    )
    assert url_path("https://r.io/v2/a/manifests/v1") == "/v2/a/manifests/v1"


def test_origin_is_scheme_host_and_port() -> None:
    assert origin("https://GHCR.io/v2/") == origin("https://ghcr.io:443/v2/a/blobs/uploads/u")
    assert origin("https://ghcr.io/v2/") != origin("http://ghcr.io/v2/")  # clear text: another
    assert origin("http://ghcr.io:443/") != origin("https://ghcr.io/")
    assert origin("http://127.0.0.1:5000/v2/") != origin("http://127.0.0.1:5001/v2/")
    assert origin("https://user@ghcr.io/x") == origin("https://ghcr.io/")
    assert origin("https://ghcr.io:x/") != origin("https://ghcr.io/")
