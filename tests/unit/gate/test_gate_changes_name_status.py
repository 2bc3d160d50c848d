"""`git diff --name-status -z` parsing (pure): renames and copies by their new path, deletions
left out, odd names kept whole."""

from __future__ import annotations

from shipsign.gate.changes import PullRequestInfo, parse_name_status


def test_statuses() -> None:
    out = b"\0".join([
        b"M", b"deploy/app.yaml",
        b"A", b"new, file.yaml",
        b"D", b"gone.yaml",
        b"R087", b"old.yaml", b"renamed.yaml",
        b"C100", b"src.yaml", b"copy.yaml",
        b"T", b"link.yaml",
        b"M", "ünï\ncode.yaml".encode(),
    ]) + b"\0"  # fmt: skip
    assert parse_name_status(out) == (
        "copy.yaml", "deploy/app.yaml", "link.yaml", "new, file.yaml", "renamed.yaml",
        "ünï\ncode.yaml",
    )  # fmt: skip


def test_empty_and_duplicates() -> None:
    assert parse_name_status(b"") == ()
    assert parse_name_status(b"M\0a\0M\0a\0") == ("a",)


def test_from_fork() -> None:
    def info(head: str, base: str) -> PullRequestInfo:
        return PullRequestInfo(number=1, head_sha="a" * 40, head_repo=head, base_repo=base)

    assert not info("acme/app", "Acme/App").from_fork
    assert info("someone/app", "acme/app").from_fork
    assert info("", "acme/app").from_fork  # the fork was deleted
    assert not info("", "").from_fork  # nothing known
