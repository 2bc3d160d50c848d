"""The token never reaches output, logs or exception text, at DEBUG for every library."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest

from shipsign.errors import ShipsignError
from shipsign.release import AssetFile, GitHubRepo, open_release, stream_asset, upload_assets
from shipsign.release import fetch_assets as list_assets
from stack.github_api import READ_ONLY, FakeGitHub

REPO = "acme/app"


def test_the_token_is_in_no_log_output_or_error(
    fake_github: FakeGitHub,
    connect: Callable[..., GitHubRepo],
    make_file: Callable[[str, bytes], AssetFile],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: urllib3, requests, ours
    caplog.set_level(logging.DEBUG, logger="github")  # PyGithub pins its own logger to INFO
    writer_token = fake_github.add_token()
    reader_token = fake_github.add_token(READ_ONLY)
    rid = fake_github.add_release(REPO, "v1", draft=True)
    fake_github.add_asset(REPO, rid, "old.json", b"{}")
    fake_github.secondary_rate_limit("POST", "/api/uploads/")
    fake_github.add_fault("POST", "name=b.json", 502, leave_starter=True)
    writer = connect(writer_token)
    release = open_release(writer, "v1")
    upload_assets(writer, release, [make_file("a.json", b"1"), make_file("b.json", b"2")])
    for asset in list_assets(writer, release):
        stream_asset(writer, asset)
    fake_github.publish(REPO, rid)
    errors: list[BaseException] = []
    reader = connect(reader_token)
    try:
        upload_assets(reader, open_release(reader, "v1"), [make_file("c.json", b"3")])
    except ShipsignError as exc:
        errors.append(exc)
    try:
        open_release(connect(writer_token + "x"), "v1")
    except ShipsignError as exc:
        errors.append(exc)
    assert len(errors) == 2
    assert any(r.name.startswith("github") for r in caplog.records), "PyGithub logged nothing"
    texts = [caplog.text, *capsys.readouterr()]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
    for error in errors:
        texts.append("".join(traceback.format_exception(error)))
        assert isinstance(error, ShipsignError)
        texts += [error.what, error.where, error.found, error.hint, error.expected]
    for text in texts:
        assert writer_token not in text
        assert reader_token not in text
        assert writer_token[4:] not in text  # not even without its prefix
