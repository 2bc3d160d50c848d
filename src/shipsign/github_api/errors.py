"""What goes wrong talking to GitHub, as shipsign errors (exit 3 through `UnreachableError`).

UnreachableError (shipsign.errors)
└── GitHubError          + operation, status, the permission GitHub wanted, Retry-After
    └── UploadIncomplete + which assets are on the release and which are not
"""

from __future__ import annotations

from shipsign.errors import UnreachableError

__all__ = ["GitHubError", "UploadIncomplete"]


class GitHubError(UnreachableError):
    """GitHub could not be reached, or refused, after retries."""

    def __init__(
        self,
        what: str,
        *,
        operation: str = "",
        status: int | None = None,
        permission: str = "",
        retry_after: str | None = None,
        where: str = "",
        expected: str = "",
        found: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(what, where=where, expected=expected, found=found, hint=hint)
        self.operation = operation
        self.status = status
        self.permission = permission  # e.g. "contents: write", when GitHub refused for want of it
        self.retry_after = retry_after


class UploadIncomplete(GitHubError):
    """An upload run stopped part-way; a rerun completes the set (what is there is kept)."""

    def __init__(
        self,
        what: str,
        *,
        uploaded: tuple[str, ...],
        missing: tuple[str, ...],
        cause: GitHubError,
    ) -> None:
        done = ", ".join(uploaded) or "none"
        left = ", ".join(missing) or "none"
        super().__init__(
            what,
            operation=cause.operation,
            status=cause.status,
            permission=cause.permission,
            retry_after=cause.retry_after,
            where=cause.where,
            expected=f"all of: {', '.join(uploaded + missing)}",
            found=f"on the release: {done}; not uploaded: {left}; stopped by: {cause.what}"
            + (f" ({cause.found})" if cause.found else ""),
            hint=cause.hint or "run the same command again: assets already there are left alone",
        )
        self.uploaded = uploaded  # names on the release with the right content
        self.missing = missing  # names not uploaded
