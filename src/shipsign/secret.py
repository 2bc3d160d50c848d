"""A string that must never be printed: tokens and passwords (stdlib only)."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """Hold a credential; `str()` and `repr()` show `***`, `.reveal()` gives the value.

    Call `.reveal()` only where a request header is built.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value. Only for building an Authorization header."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")
