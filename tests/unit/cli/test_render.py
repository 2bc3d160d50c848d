"""How errors are shown to a person."""

from __future__ import annotations

import pytest

from shipsign.cli import render
from shipsign.errors import RegistryError


def test_error_shows_what_where_expected_found_hint(capsys: pytest.CaptureFixture[str]) -> None:
    exc = RegistryError(
        "cannot push signature to ghcr.io/acme/app",
        where="PUT /v2/acme/app/manifests/sha256-3f2a.sig",
        expected="201 Created",
        found='403 DENIED "requested access to the resource is denied"',
        hint="the token lacks push scope; give the workflow `packages: write`",
    )
    render.error(exc, verbose=False)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: cannot push signature to ghcr.io/acme/app"
    assert err[1] == "  where:    PUT /v2/acme/app/manifests/sha256-3f2a.sig"
    assert err[2] == "  expected: 201 Created"
    assert err[3].startswith("  found:    403 DENIED")
    assert err[4].startswith("  hint:     the token lacks push scope")


def test_a_bug_says_internal_error(capsys: pytest.CaptureFixture[str]) -> None:
    render.error(ZeroDivisionError("division by zero"), verbose=False)
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError")
    assert "run again with -v" in err
