"""Command handlers: turn parsed arguments into one request, call one use case, render.

Handlers import their use case and renderer inside the body so that `--help` stays fast.
"""

from __future__ import annotations

import argparse

__all__ = ["version"]


def version(args: argparse.Namespace) -> int:
    """Print shipsign's version and the versions of the libraries it signs and verifies with."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    from shipsign import __version__
    from shipsign.cli import render

    lines = [f"shipsign {__version__}"]
    for dist in ("sigstore", "id", "requests", "cryptography"):
        try:
            lines.append(f"{dist} {dist_version(dist)}")
        except PackageNotFoundError:
            lines.append(f"{dist} (not installed)")
    render.out("\n".join(lines))
    return 0
