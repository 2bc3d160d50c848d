"""Token, API URL and repository from the environment; GitHub's failures as shipsign errors."""

from __future__ import annotations

from pathlib import Path

import github
import pytest
import requests

from shipsign.errors import InputError
from shipsign.github_api.connection import translate
from shipsign.present.exitcodes import exit_code_for
from shipsign.release import GitHubError, GitHubSettings, load_token, parse_repository


def test_the_token_file_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("ghs_fromfile1234\n")
    assert load_token({"GITHUB_TOKEN": "ghs_fromenv5678"}, path).reveal() == "ghs_fromfile1234"
    assert load_token({"GITHUB_TOKEN": " ghs_fromenv5678 "}).reveal() == "ghs_fromenv5678"


@pytest.mark.parametrize("content", ["", "\n", "two tokens\n"])
def test_a_token_file_without_one_token_is_input_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        load_token({}, path)
    assert err.value.what == "the GitHub token file does not hold one token"
    assert "two tokens" not in str(vars(err.value))  # the file's content is never echoed


def test_no_token_says_where_one_comes_from(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_token({"GITHUB_TOKEN": "  "})
    assert "GITHUB_TOKEN" in err.value.hint
    assert "--github-token-file" in err.value.hint
    with pytest.raises(InputError) as err:
        load_token({}, tmp_path / "missing")
    assert err.value.where.endswith("missing")


def test_settings_take_the_api_url_from_the_environment() -> None:
    env = {"GITHUB_TOKEN": "ghs_abcd1234", "GITHUB_API_URL": "https://ghe.example/api/v3/"}
    settings = GitHubSettings.from_env(env)
    assert settings.api_url == "https://ghe.example/api/v3"
    assert str(settings.token) == "***"
    assert GitHubSettings.from_env({"GITHUB_TOKEN": "x"}).api_url == "https://api.github.com"
    with pytest.raises(InputError):
        GitHubSettings.from_env({"GITHUB_TOKEN": "x", "GITHUB_API_URL": "ftp://x"})


@pytest.mark.parametrize("value", ["acme", "acme/", "/app", "acme/app/x", "ac me/app", "a/."])
def test_a_bad_repository_is_input_error(value: str) -> None:
    with pytest.raises(InputError):
        parse_repository(value)


def test_a_good_repository_is_kept() -> None:
    assert parse_repository("fluxcd/flux2") == "fluxcd/flux2"


def _gh(status: int, message: str, **headers: str) -> github.GithubException:
    return github.GithubException(status, {"message": message}, headers)


def test_a_403_names_the_permission_github_asked_for() -> None:
    exc = _gh(403, "Resource not accessible by integration",
              **{"x-accepted-github-permissions": "pull_requests=write; issues=write"})  # fmt: skip
    err = translate(exc, operation="comment", where="acme/app#1", permission="contents: write")
    assert isinstance(err, GitHubError)
    assert exit_code_for(err) == 3
    assert err.permission == "pull-requests: write"
    assert "`pull-requests: write`" in err.hint
    assert "fork" in err.hint


def test_without_the_header_the_operations_permission_is_named() -> None:
    err = translate(_gh(403, "Resource not accessible by integration"), operation="upload",
                    where="w", permission="contents: write")  # fmt: skip
    assert isinstance(err, GitHubError)
    assert err.permission == "contents: write"


def test_a_rate_limit_403_is_not_a_permission_problem() -> None:
    exc = _gh(403, "You have exceeded a secondary rate limit.", **{"retry-after": "60"})
    err = translate(exc, operation="upload", where="w", permission="contents: write")
    assert isinstance(err, GitHubError)
    assert err.permission == ""
    assert err.retry_after == "60"
    assert "rate limit" in err.what


def test_404_is_input_error_and_a_network_failure_exit_3() -> None:
    assert exit_code_for(translate(_gh(404, "Not Found"), operation="o", where="w")) == 2
    down = translate(requests.ConnectionError("refused"), operation="o", where="w")
    assert isinstance(down, GitHubError)
    assert exit_code_for(down) == 3
    assert "cannot reach GitHub" in down.what
