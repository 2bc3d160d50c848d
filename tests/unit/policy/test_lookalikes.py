"""The regexes every engine gets accept the signing identity and nothing that merely looks like
it. Evaluated with RE2 itself (google-re2) and unanchored `search`, as the Go engines match."""

from __future__ import annotations

import re
import shlex
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import re2  # type: ignore[import-untyped]
import yaml

from shipsign.cli import main
from shipsign.policy.patterns import re2_problem
from unit.policy.fixtures import ISSUER, REGEXP, SAN

GLOB = f"""
[[policy]]
images = ["ghcr.io/acme/app"]
issuer = "{ISSUER}"
identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*"
"""
BASE = "https://github.com/acme/app/.github/workflows/release.yml"
LOOKALIKES = {
    "fork": SAN.replace("acme/app/", "acme/app-fork/"),
    "another workflow": SAN.replace("release.yml", "build.yml"),
    "branch for a tag policy": f"{BASE}@refs/heads/main",
    "prefix attack": "https://evil.example/?" + SAN,
    "suffix attack": SAN + "/../../evil",
    "unescaped dot": SAN.replace("github.com", "githubXcom"),
    "dot in file name": SAN.replace("release.yml", "releaseXyml"),
}
ENGINES = [
    "kyverno",
    "kyverno-clusterpolicy",
    "policy-controller",
    "flux",
    "connaisseur",
    "cosign",
    "gh",
]
_SUBJECT_KEYS = {"subjectRegExp", "subjectRegex", "subject"}


def _walk(node: Any, keys: set[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            yield from _walk(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, keys)


def subject_patterns(engine: str, out: str) -> list[str]:
    """The identity regexes in an export (YAML fields, or the commands' regexp flags)."""
    if engine in ("cosign", "gh"):
        words = shlex.split(out, comments=True)
        flags = {"--certificate-identity-regexp", "--cert-identity-regex"}
        return [words[i + 1] for i, w in enumerate(words) if w in flags]
    found = []
    for doc in yaml.safe_load_all(out):
        keys = {"subjectRegExp", "subjectRegex"} | ({"subject"} if engine == "flux" else set())
        found += list(_walk(doc, keys))
    return found


@pytest.mark.parametrize("policy", ["regexp", "glob"])
@pytest.mark.parametrize("engine", ENGINES)
def test_exported_regexes_admit_the_signer_and_refuse_lookalikes(
    engine: str, policy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "shipsign.toml"
    config.write_text(REGEXP if policy == "regexp" else GLOB)
    capsys.readouterr()
    assert main(["policy", "--config", str(config), "--engine", engine, "ghcr.io/acme/app"]) == 0
    patterns = subject_patterns(engine, capsys.readouterr().out)
    assert patterns, "the export names no identity pattern"
    for pattern in patterns:
        assert pattern.startswith("^"), pattern
        assert pattern.endswith("$"), pattern
        assert re2_problem(pattern) is None
        compiled = re2.compile(pattern)  # RE2 itself accepts it
        assert compiled.search(SAN), f"{pattern} refuses the signer {SAN}"
        for name, lookalike in LOOKALIKES.items():
            assert not compiled.search(lookalike), f"{pattern} admits the {name}: {lookalike}"


def test_flux_issuer_is_anchored_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "shipsign.toml"
    config.write_text(REGEXP)
    capsys.readouterr()
    assert main(["policy", "--config", str(config), "--engine", "flux"]) == 0
    issuers = list(_walk(next(yaml.safe_load_all(capsys.readouterr().out)), {"issuer"}))
    assert issuers == ["^https://token\\.actions\\.githubusercontent\\.com$"]
    compiled = re2.compile(issuers[0])
    assert compiled.search(ISSUER)
    assert not compiled.search("https://token.actions.githubusercontent.com.evil.example")
    assert not compiled.search("https://tokenXactions.githubusercontent.com")


@pytest.mark.parametrize(
    "pattern",
    [
        r"^a(?=b)$",
        r"^a(?!b)$",
        r"^(?<=a)b$",
        r"^(a)\1$",
        r"^(?P<x>a)(?P=x)$",
        r"^a\Z",
        r"^a{,3}$",
        r"^(?x)a b$",
        r"^[[:alpha:]]$",
        r"^(?>a)$",
        r"^a\d+\.b$",
        r"^https://github\.com/[^/]+/app$",
        r"^(?i)abc$",
        r"(?i)^abc$",
        r"^(?:a|b)$",
        r"^(?P<n>a)$",
        r"^[\]a]$",
    ],
)
def test_re2_check_agrees_with_re2(pattern: str) -> None:
    """`re2_problem` refuses what RE2 cannot compile or reads differently from Python."""
    try:
        re2.compile(pattern)
        re2_ok = True
    except re2.error:
        re2_ok = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Python on `[[`
            re.compile(pattern)
        python_ok = True
    except re.error:
        python_ok = False
    ours = re2_problem(pattern) is None
    if ours:
        assert re2_ok, f"we accept {pattern!r}, which RE2 refuses"
        assert python_ok, f"we accept {pattern!r}, which Python refuses"
    # Some patterns compile in both engines but mean different things there; those we refuse
    # even though RE2 compiles them.
    differently = {r"^a{,3}$", r"^[[:alpha:]]$"}
    if not (re2_ok and python_ok):
        assert not ours
    elif pattern not in differently:
        assert ours, f"we refuse {pattern!r}, which RE2 and Python read alike"
