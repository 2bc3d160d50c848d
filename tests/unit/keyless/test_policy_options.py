"""The identity options table is what the CLI parses and what the README and action.yml say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipsign.cli.parser import build_parser
from shipsign.keyless.policy_options import POLICY_OPTIONS, PolicyOption

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")
HEADER = "| CLI flag | Action input | policy file key |"
# What an identity option is called; any such flag or input not in the table is undocumented.
CLAIM_FLAG = re.compile(r"--(?:certificate|github|runner)-[a-z-]*[a-z]")
CLAIM_INPUT = re.compile(r"(?:certificate|github|runner)-[a-z-]*[a-z]")
NOT_POLICY_INPUTS = {"github-token", "github-release"}  # a login and a release tag: no claims
# GitHub options of sign, gate and verify-release that name no certificate claim.
NOT_POLICY_FLAGS = {"--github-release", "--github-token-file", "--github-pull-request"}


def readme_rows() -> list[tuple[str, str, str]]:
    """(flag, input, key) of each row of the README's identity options table."""
    start = README.index(HEADER)
    lines = README[start:].splitlines()[2:]  # past the header and the --- row
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows.append((cells[0], cells[1], cells[2]))
    return rows


def action_inputs() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    inputs: dict[str, Any] = doc["inputs"]
    return inputs


def test_readme_table_is_the_options_table_row_for_row() -> None:
    assert README.count(HEADER) == 1
    assert readme_rows() == [(o.flag, o.input, o.key) for o in POLICY_OPTIONS]


def test_readme_mentions_no_identity_flag_the_table_lacks() -> None:
    flags = {o.flag for o in POLICY_OPTIONS}
    assert set(CLAIM_FLAG.findall(README)) - NOT_POLICY_FLAGS <= flags


def test_action_yml_has_every_option_and_no_other_claim_input() -> None:
    inputs = set(action_inputs())
    table = {o.input for o in POLICY_OPTIONS}
    assert table <= inputs
    claims = {name for name in inputs if CLAIM_INPUT.fullmatch(name)} - NOT_POLICY_INPUTS
    assert claims == table


@pytest.mark.parametrize("option", POLICY_OPTIONS, ids=lambda o: o.input)
def test_action_yml_describes_each_option_as_the_table_does(option: PolicyOption) -> None:
    text = " ".join(action_inputs()[option.input]["description"].split())
    assert text.startswith("verify: "), text
    assert ("regular expression" in text) is option.regexp, text
    if option.regexp:
        assert "whole value" in text.lower(), text
    for choice in option.choices:
        assert f"`{choice}`" in text, text


@pytest.mark.parametrize("command", ["verify", "verify-blob"])
def test_the_cli_offers_exactly_the_table(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert set(CLAIM_FLAG.findall(capsys.readouterr().out)) == {o.flag for o in POLICY_OPTIONS}
    given = ["--runner-environment", "self-hosted", "--github-sha", "abc"]
    bundle = ["--bundle", "b"] if command == "verify-blob" else []
    args = build_parser().parse_args([command, "x", *bundle, *given])
    assert (args.runner_environment, args.github_sha) == ("self-hosted", "abc")
