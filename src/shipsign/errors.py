"""The errors shipsign raises on purpose, and nothing else (stdlib only).

    ShipsignError                 base; carries what / where / expected / found / hint
    ├── InputError                bad reference, flag, file or config          (exit 2)
    ├── InternalError             a bug, caught so that a report survives it    (exit 4)
    └── UnreachableError          could not look: network, 5xx/429 after retries (exit 3)
        └── RegistryError         + registry, repository, operation, status, codes
            └── AuthError         + the scope that was refused

A negative result (not signed, not verified) is never an exception: use cases return it as data.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "InputError",
    "InternalError",
    "RegistryError",
    "ShipsignError",
    "UnreachableError",
]


class ShipsignError(Exception):
    """Base of every error shipsign raises on purpose."""

    def __init__(
        self,
        what: str,
        *,
        where: str = "",
        expected: str = "",
        found: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.expected = expected
        self.found = found
        self.hint = hint

    def details(self) -> list[tuple[str, str]]:
        """Return the labelled detail lines that are set, in display order."""
        pairs = [
            ("where", self.where),
            ("expected", self.expected),
            ("found", self.found),
            ("hint", self.hint),
        ]
        return [(k, v) for k, v in pairs if v]


class InputError(ShipsignError):
    """Bad reference, flag, file or config."""


class InternalError(ShipsignError):
    """A bug in shipsign, caught where it would otherwise lose a report (e.g. a sign worker)."""


class UnreachableError(ShipsignError):
    """Could not look: network errors, or 5xx/429 after retries."""


class RegistryError(UnreachableError):
    """A registry answered in a way that stops the operation."""

    def __init__(
        self,
        what: str,
        *,
        registry: str = "",
        repository: str = "",
        operation: str = "",
        status: int | None = None,
        codes: tuple[str, ...] = (),
        scope: str = "",
        retry_after: str | None = None,
        where: str = "",
        expected: str = "",
        found: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(what, where=where, expected=expected, found=found, hint=hint)
        self.scope = scope  # for auth failures: the scope that was refused
        self.registry = registry
        self.repository = repository
        self.operation = operation
        self.status = status
        self.codes = codes
        self.retry_after = retry_after  # the registry's Retry-After on the answer that stopped us


class AuthError(RegistryError):
    """The registry refused our credentials, or the scope we asked for (`scope`)."""
