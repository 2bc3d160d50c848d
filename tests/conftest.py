"""Fixture wiring only: the fixtures live in tests/stack/."""

from __future__ import annotations

pytest_plugins = [
    "stack.registry_fixtures",
    "stack.sigstore_fixtures",
    "stack.github_fixtures",
]
