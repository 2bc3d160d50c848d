"""The argparse parser. Imports only the stdlib so that `shipsign --help` stays fast.

Each subcommand sets `handler=` to the name of a function in `shipsign.cli.commands`.
"""

from __future__ import annotations

import argparse

from shipsign import __version__

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="shipsign",
        description="Keyless, cosign-compatible signing and verification of container images.",
    )
    parser.add_argument("--version", action="version", version=f"shipsign {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v: shipsign debug logs; -vv: all"
    )
    parser.set_defaults(handler=None)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_version(sub)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS)


def _registry_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="use plain HTTP for this registry (repeatable); meant for loopback test registries",
    )


def _output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", choices=["text", "json"], default="text", help="output format")


def _add_version(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("version", help="print the version of shipsign and its libraries")
    _common(p)
    p.set_defaults(handler="version")
