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
    _add_resolve(sub)
    _add_tree(sub)
    _add_verify(sub)
    _add_verify_blob(sub)
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


def _add_resolve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "resolve",
        help="print REPOSITORY@sha256:... for each image (like `crane digest`)",
        description="Resolve each image reference to its manifest digest, with the full "
        "normalised repository (e.g. alpine -> index.docker.io/library/alpine@sha256:...).",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image reference(s)")
    p.add_argument(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="resolve a multi-platform index to the image for this platform",
    )
    _registry_options(p)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="resolve")


def _add_tree(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tree",
        help="show what is attached to an image (like `cosign tree`)",
        description="List the legacy .sig/.att/.sbom tags and the referrers (from the referrers "
        "API or the sha256-<hex> fallback tag) attached to an image's digest.",
    )
    p.add_argument("image", metavar="IMAGE", help="image reference")
    _registry_options(p)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="tree")


def _trust_options(p: argparse.ArgumentParser, *, verify_only: bool) -> None:
    g = p.add_argument_group("trust (default: the public-good Sigstore instance, via TUF)")
    g.add_argument("--staging", action="store_true", help="use Sigstore's staging instance")
    g.add_argument(
        "--offline",
        action="store_true",
        help="no network except the registry: use the cached or embedded trusted root",
    )
    g.add_argument(
        "--trust-config",
        metavar="FILE",
        help="a ClientTrustConfig JSON (a private Sigstore instance, or the local test stack)",
    )
    if verify_only:
        g.add_argument("--trusted-root", metavar="FILE", help="a Sigstore trusted_root.json")


def _identity_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "signer identity (regular expressions must match the WHOLE value: they are anchored, "
        "unlike cosign's)"
    )
    g.add_argument("--certificate-identity", metavar="ID", help="the exact signer identity (SAN)")
    g.add_argument(
        "--certificate-identity-regexp", metavar="RE", help="a regexp for the signer identity"
    )
    g.add_argument(
        "--certificate-oidc-issuer", metavar="URL", help="the exact OIDC issuer of the identity"
    )
    g.add_argument(
        "--certificate-oidc-issuer-regexp", metavar="RE", help="a regexp for the OIDC issuer"
    )
    g.add_argument("--github-repository", metavar="OWNER/REPO", help="the workflow's repository")
    g.add_argument("--github-ref", metavar="REF", help="the git ref, e.g. refs/tags/v1.2.3")
    g.add_argument(
        "--github-workflow-trigger", metavar="EVENT", help="the event, e.g. push or release"
    )
    g.add_argument("--github-sha", metavar="SHA", help="the commit the workflow ran on")
    g.add_argument(
        "--github-workflow",
        metavar="URI",
        help="the build signer URI: https://github.com/OWNER/REPO/.github/workflows/F@REF",
    )
    g.add_argument(
        "--runner-environment",
        choices=["github-hosted", "self-hosted"],
        help="where the workflow ran",
    )


def _add_verify(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="verify the signatures on images (cosign-compatible)",
        description="Find every signature on each image digest (Sigstore bundles among its OCI "
        "referrers and layers of the legacy sha256-<hex>.sig tag) and check it against the "
        "expected signer. Exit 0: every image verified; 1: some image has no signature that "
        "passes; 2: bad input; 3: a registry could not be read.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image reference(s)")
    p.add_argument(
        "--format",
        choices=["any", "bundle", "legacy"],
        default="any",
        help="which signature formats to read (default: any)",
    )
    p.add_argument("--key", metavar="PUBKEY.pem", help="verify key-based legacy signatures")
    p.add_argument(
        "--recursive", action="store_true", help="for an index, also verify every platform image"
    )
    p.add_argument(
        "--insecure-ignore-sct",
        action="store_true",
        help="accept certificates without an embedded SCT (as cosign's flag of that name)",
    )
    p.add_argument(
        "--insecure-ignore-tlog",
        action="store_true",
        help="with --key: accept signatures that are not in the transparency log",
    )
    _identity_options(p)
    _trust_options(p, verify_only=True)
    _registry_options(p)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="verify")


def _add_verify_blob(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify-blob",
        help="verify a Sigstore bundle for a file",
        description="Verify a Sigstore bundle (v0.1 to v0.3, message signature or DSSE) for a "
        "file, or for its sha256 digest. Exit codes as for verify.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="the signed file")
    p.add_argument("--bundle", required=True, metavar="BUNDLE", help="the .sigstore.json bundle")
    p.add_argument("--digest", metavar="sha256:HEX", help="the file's digest, instead of FILE")
    _identity_options(p)
    _trust_options(p, verify_only=True)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="verify_blob")
