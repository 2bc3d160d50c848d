"""The policy file: where it is found, what it may say, and the errors for what it may not."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipsign.cli import main
from shipsign.errors import InputError
from shipsign.policy.config import (
    SignSettings,
    find_config,
    images_to_sign,
    load_config,
    resolve_config,
)
from unit.policy.fixtures import EXACT, ISSUER, SAN

GOOD = EXACT
HEAD = '[[policy]]\nimages = ["ghcr.io/a/*"]\nissuer = "x"\n'
LONG_IDENTITY = "https://github.com/a/b/.github/workflows/r.yml@refs/heads/**"


def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir(parents=True)
    (tmp_path / "a" / "b").mkdir(parents=True)
    return tmp_path


def test_lookup_order_first_directory_wins_and_files_are_not_merged(tmp_path: Path) -> None:
    root = repo(tmp_path)
    deep = root / "a" / "b"
    assert find_config(deep) is None
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no [tool.shipsign]
    assert find_config(deep) is None
    (root / "pyproject.toml").write_text('[tool.shipsign.sign]\nformat = "legacy"\n')
    assert find_config(deep) == root / "pyproject.toml"
    assert load_config(root / "pyproject.toml").sign.format == "legacy"
    (root / "shipsign.toml").write_text(GOOD)
    assert find_config(deep) == root / "shipsign.toml"
    (root / ".shipsign.toml").write_text(GOOD)
    assert find_config(deep) == root / ".shipsign.toml"
    (root / "a" / "shipsign.toml").write_text('[sign]\nformat = "bundle"\n')
    found = resolve_config(None, {}, deep)
    assert found is not None
    assert found.path == root / "a" / "shipsign.toml"
    assert found.policies == ()  # the nearer file alone: never merged with the root's


def test_lookup_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "shipsign.toml").write_text(GOOD)
    inner = repo(tmp_path / "checkout")
    assert find_config(inner / "a") is None


def test_explicit_path_and_environment(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[sign]\nformat = "bundle"\n')
    (tmp_path / ".git").mkdir()
    (tmp_path / ".shipsign.toml").write_text(GOOD)
    by_env = resolve_config(None, {"SHIPSIGN_CONFIG": str(other)}, tmp_path)
    assert by_env is not None
    assert by_env.sign.format == "bundle"
    by_flag = resolve_config(
        str(tmp_path / ".shipsign.toml"), {"SHIPSIGN_CONFIG": str(other)}, tmp_path
    )
    assert by_flag is not None
    assert by_flag.sign.format == "both"
    with pytest.raises(InputError, match="does not exist"):
        resolve_config("missing.toml", {}, tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "what", "hint"),
    [
        ('[sign]\nformt = "both"\n', 2, "unknown key `formt` in [sign]", "did you mean `format`?"),
        (
            HEAD + 'identiy = "y"\n',
            4,
            "unknown key `identiy`",
            "did you mean `identity`?",
        ),
        (
            HEAD + 'identity = "y"\ngithub = { repo = "a/b" }\n',
            5,
            "unknown key `github.repo`",
            "did you mean `repository`?",
        ),
        ('[sign]\nrecursive = "yes"\n', 2, "[sign] recursive must be true or false", ""),
        ('[[policy]]\nimages = "ghcr.io/a"\n', 2, "`images` must be a list", ""),
        (
            HEAD + "identity-regexp = 'https://github\\.com/a/b/.*'\n",
            4,
            "not anchored",
            "write ^...$",
        ),
        (
            HEAD + "identity-regexp = '^https://github.com/a/b/x$'\n",
            4,
            "unescaped `.`",
            "\\.",
        ),
        (
            HEAD
            + "identity-regexp = '^https://github\\.com/a/b/\\.github/workflows/r\\.yml@refs/(tags|heads)/.*$'\n",
            4,
            "admits a branch",
            "",
        ),
        (
            HEAD + 'identity = "' + LONG_IDENTITY + '"\ngithub = { ref = "refs/tags/v1" }\n',
            4,
            "admits a branch",
            "",
        ),
        (
            HEAD + "identity-regexp = '^a(?=b)$'\n",
            4,
            "look-ahead",
            "",
        ),
        (
            HEAD + 'identity = "https://x/[ab]*"\n',
            4,
            "bad glob",
            "",
        ),
        (
            '[[policy]]\nimages = ["ghcr.io/a:v1"]\nissuer = "x"\nidentity = "y"\n',
            2,
            "tag or digest",
            "",
        ),
        (
            '[[policy]]\nimages = ["ghcr.io/a/*"]\nidentity = "y"\n',
            1,
            "needs one of `issuer` and `issuer-regexp`",
            "",
        ),
        (
            HEAD + 'identity = "y"\ngithub = { runner-environment = "laptop" }\n',
            1,
            "unknown value",
            "",
        ),
        ("[sign\n", 1, "not valid TOML", ""),
    ],
)
def test_bad_files_name_the_line_the_key_and_the_nearest_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, what: str, hint: str
) -> None:
    path = tmp_path / ".shipsign.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_config(path)
    error = caught.value
    assert error.where == f"{path}:{line}"
    assert what in error.what
    assert hint in error.hint
    # The same file stops every command with exit 2 before anything runs.
    capsys.readouterr()
    assert main(["policy", "--engine", "cosign", "--config", str(path)]) == 2
    assert f"{path}:{line}" in capsys.readouterr().err


def test_several_entries_for_the_same_images_are_any_of_and_first_match_wins(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".shipsign.toml"
    path.write_text(
        f"""
[[policy]]
images = ["ghcr.io/acme/special"]
issuer = "{ISSUER}"
identity = "https://github.com/acme/special/.github/workflows/r.yml@refs/heads/main"

[[policy]]
images = ["ghcr.io/acme/*"]
issuer = "{ISSUER}"
identity = "{SAN}"

[[policy]]
images = ["ghcr.io/acme/*"]
issuer = "{ISSUER}"
identity = "https://github.com/acme/app/.github/workflows/rotate.yml@refs/tags/v1.2.3"
"""
    )
    config = load_config(path)
    assert len(config.policy_for("ghcr.io/acme/app:v1").alternatives) == 2
    special = config.policy_for("ghcr.io/acme/special:v1")
    assert len(special.alternatives) == 1
    assert special.alternatives[0].identity is not None
    assert "special" in special.alternatives[0].identity.describe()
    with pytest.raises(InputError, match="no \\[\\[policy\\]\\]") as caught:
        config.policy_for("docker.io/acme/app:v1")
    assert caught.value.where == str(path)


def test_verify_without_flags_and_without_a_matching_policy_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".shipsign.toml").write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["verify", "127.0.0.1:9/other/app@sha256:" + "0" * 64, "--offline"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(tmp_path / ".shipsign.toml") in err


def test_sign_applies_a_bare_digest_to_every_configured_repository(tmp_path: Path) -> None:
    path = tmp_path / ".shipsign.toml"
    path.write_text(GOOD)
    config = load_config(path)
    digest = "@sha256:" + "a" * 64
    assert images_to_sign(config.sign, [digest], path) == (
        "ghcr.io/acme/app" + digest,
        "docker.io/acme/app" + digest,
    )
    assert images_to_sign(config.sign, ["ghcr.io/x/y:v1"], path) == ("ghcr.io/x/y:v1",)
    with pytest.raises(InputError, match="names no repository"):
        images_to_sign(SignSettings(), [":v1"], None)
