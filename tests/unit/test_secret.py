"""`redact`, the one function every output path goes through, and the `Secret` it remembers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.present.logs import RedactingFormatter
from shipsign.secret import Secret, redact, remember

ROOT = Path(__file__).resolve().parents[2]


def test_every_remembered_secret_is_removed() -> None:
    value = "pw-" + os.urandom(6).hex()
    Secret(value)
    assert value in redact(f"login failed for {value}")  # held, but not remembered
    remember(Secret(value), Secret("abc"))
    assert redact(f"login failed for {value}!") == "login failed for ***!"
    assert redact("abc") == "abc"  # too short to remember: it would garble every line
    assert redact("a", ["a"]) == "***"  # given explicitly, even short values go


def test_shapes_of_credentials() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert redact(f"token {jwt} refused") == "token *** refused"
    assert redact("Authorization: Bearer abc.def-123456") == "Authorization: Bearer ***"
    assert redact("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic ***"
    assert redact("GET https://bob:hunter22@r.io/v2/") == "GET https://***@r.io/v2/"
    assert redact("PUT /v2/a/blobs/uploads/u?_state=abc&digest=x") == "PUT /v2/a/blobs/uploads/u?…"
    # a query of only known-harmless parameters stays: Rekor search links, pagination
    link = "https://search.sigstore.dev/?logIndex=123"
    assert redact(link) == link
    assert redact("/v2/a/tags/list?n=10&last=v1") == "/v2/a/tags/list?n=10&last=v1"


@given(st.text(max_size=200), st.text(min_size=4, max_size=30))
def test_a_given_secret_never_survives(text: str, secret: str) -> None:
    assert secret not in redact(text + secret + text, [secret])


def test_the_log_formatter_redacts_messages_and_tracebacks() -> None:
    value = "tok-" + os.urandom(6).hex()
    remember(Secret(value))
    try:
        raise ValueError(f"bad {value}")
    except ValueError:
        record = logging.LogRecord("x", logging.DEBUG, "", 0, "using %s", (value,), sys.exc_info())
    text = RedactingFormatter("%(message)s").format(record)
    assert value not in text
    assert "ValueError" in text


def test_the_redaction_patterns_live_in_one_module() -> None:
    found = subprocess.run(
        ["grep", "-rlE", "--include=*.py", r"eyJ\[|def (redact|scrub)\b|_JWT", str(ROOT / "src")],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert [Path(p).relative_to(ROOT).as_posix() for p in found] == ["src/shipsign/secret.py"]


_LIBRARY_WARNING = """
import logging
from shipsign.cli import _configure_logging
_configure_logging({verbosity})
logging.getLogger("urllib3.connectionpool").warning(
    "retrying https://r.example/v2/?_state=SECRETSTATE with Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"
)
logging.getLogger("sigstore._internal.tuf").warning("TUF repository is loaded in offline mode")
"""


@pytest.mark.parametrize("verbosity", [0, 1, 2])
def test_library_warnings_are_redacted_at_every_verbosity(verbosity: int) -> None:
    # Without a handler of ours, Python prints library warnings through its last-resort
    # handler, which redacts nothing. The CLI configures logging before any command runs.
    script = _LIBRARY_WARNING.format(verbosity=verbosity)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "WARNING urllib3.connectionpool: retrying https://r.example/v2/?…" in done.stderr
    assert "SECRETSTATE" not in done.stderr
    assert "eyJhbGci" not in done.stderr
    # sigstore's note that --offline means offline: only in the everything-log (-vv)
    assert ("offline mode" in done.stderr) == (verbosity == 2)
