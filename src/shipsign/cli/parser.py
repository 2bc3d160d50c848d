"""The argparse parser. Imports only the stdlib (and the stdlib-only table of identity policy
options) so that `shipsign --help` stays fast.

Each subcommand sets `handler=` to the name of a function in `shipsign.cli.commands`.
"""

from __future__ import annotations

import argparse

from shipsign import __version__
from shipsign.keyless.policy_options import POLICY_OPTIONS

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
    _add_sign(sub)
    _add_sign_blob(sub)
    _add_verify_release(sub)
    _add_gate(sub)
    _add_action(sub)
    _add_policy(sub)
    _add_init(sub)
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


def _config_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        help="the policy file (default: $SHIPSIGN_CONFIG, else .shipsign.toml, shipsign.toml or "
        "pyproject.toml [tool.shipsign] in this directory or a parent up to the repository root)",
    )


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
        help="no network except the registry: use the cached or embedded trusted root"
        if verify_only
        else "do not refresh the trust root from TUF: use the cached or embedded one",
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
    for option in POLICY_OPTIONS:
        g.add_argument(
            option.flag, dest=option.field.value, metavar=option.metavar, help=option.help
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
        "--all",
        action="store_true",
        dest="audit",
        help="check every signature in every place and report each (default: stop at the "
        "first that passes, bundles first as cosign v3 reads them; the verdict is the same)",
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
    _config_option(p)
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
        "file, or for its sha256 digest; or, with --checksums, for a checksums file and then "
        "each FILE against it. Exit codes as for verify.",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="the signed file; with --checksums, the files to check against it",
    )
    p.add_argument("--bundle", required=True, metavar="BUNDLE", help="the .sigstore.json bundle")
    p.add_argument("--digest", metavar="sha256:HEX", help="the file's digest, instead of FILE")
    p.add_argument(
        "--checksums",
        metavar="SUMS",
        help="a sha256sum file that BUNDLE signs: verify it, then check each FILE's sha256 "
        "against the line for its base name (a file not listed, or listed with another "
        "digest, fails)",
    )
    _identity_options(p)
    _trust_options(p, verify_only=True)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="verify_blob")


def _add_action(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "action",
        help="run as the GitHub Action (the container's entry point)",
        description="Run shipsign's GitHub Action: read its inputs from the INPUT_* variables the "
        "runner sets, write $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, and report errors as "
        "::error:: annotations. Exit codes as for verify.",
    )
    _common(p)
    p.set_defaults(handler="action")


def _add_sign(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sign",
        help="sign images keylessly and publish cosign-compatible signatures",
        description="Resolve each image to its digest, sign every digest once with one ephemeral "
        "key and Fulcio certificate (identity: --identity-token, else the CI's OIDC token), and "
        "publish the signature next to every copy: a Sigstore bundle as an OCI referrer and/or a "
        "layer of cosign's sha256-<hex>.sig tag. Nothing already in a registry is deleted or "
        "overwritten. Then read every signature back and verify it. Exit 0: everything signed "
        "and verified; 1: something was not; 2: bad input; 3: a registry or Sigstore service "
        "could not be reached after retries.",
    )
    p.add_argument(
        "images", nargs="*", metavar="IMAGE", help="image reference(s); none with --file alone"
    )
    p.add_argument(
        "--format",
        choices=["both", "bundle", "legacy"],
        default=None,  # None: the config file's [sign] format, else both
        help="bundle: cosign v3's OCI referrer; legacy: the .sig tag older verifiers read "
        "(default: [sign] format of the config file, else both)",
    )
    p.add_argument(
        "--identity-token",
        metavar="TOKEN|FILE",
        help="an OIDC token for audience sigstore, or a file holding it (safer: a command line "
        "is visible to other processes); default: the CI environment's, e.g. GitHub Actions "
        "with `permissions: id-token: write`",
    )
    p.add_argument(
        "--recursive",
        action="store_true",
        default=None,  # None: the config file's [sign] recursive
        help="for an index, also sign every platform image",
    )
    p.add_argument(
        "-a",
        "--annotation",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="add to the signed claims (repeatable), as cosign's -a",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="sign again even where this identity's valid signature is already present",
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="once every signature is written and verified in every registry, point TAG at "
        "the signed digest in every repository given (repeatable); if anything fails, no tag "
        "moves",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="do not read the signatures back and verify them after signing",
    )
    p.add_argument(
        "--file",
        action="append",
        default=[],
        dest="files",
        metavar="PATH",
        help="also sign this file or glob (repeatable; * ? [...] and ** expanded by shipsign) "
        "with the same certificate; default: [sign] files of the config file",
    )
    _file_options(p)
    _release_options(p)
    _config_option(p)
    _trust_options(p, verify_only=False)
    _registry_options(p)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="sign")


def _file_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("files (each gets a Sigstore bundle <file>.sigstore.json)")
    g.add_argument(
        "--bundle-dir",
        metavar="DIR",
        help="write the bundles (and legacy outputs, and the checksums file) into DIR "
        "instead of beside each file",
    )
    g.add_argument(
        "--checksums",
        metavar="NAME",
        help="also write a sha256sum file NAME listing every file (in the bundle directory, "
        "else beside the first file) and sign it too",
    )
    g.add_argument(
        "--legacy-blob-outputs",
        action="store_true",
        help="also write <file>.sig (base64 signature) and <file>.pem (certificate), as "
        "cosign sign-blob --output-signature/--output-certificate",
    )


def _github_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--github-repository",
        metavar="OWNER/REPO",
        help="the repository (default: $GITHUB_REPOSITORY); the API is $GITHUB_API_URL "
        "(GitHub Enterprise Server works)",
    )
    g.add_argument(
        "--github-token-file",
        metavar="FILE",
        help="read the GitHub token from FILE (default: $GITHUB_TOKEN)",
    )


def _release_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("GitHub release (the bundles become release assets)")
    g.add_argument(
        "--github-release",
        metavar="TAG",
        help="upload each file's bundle (and outputs) to the release for TAG; `auto`: the tag "
        "that triggered the workflow. The release is checked before anything is signed: it "
        "must exist (or --create-release) and not be immutable",
    )
    g.add_argument(
        "--create-release",
        action="store_true",
        help="make a draft release for the tag if there is none",
    )
    g.add_argument(
        "--upload-files",
        action="store_true",
        help="upload the signed files themselves too, not only their bundles",
    )
    _github_options(g)


def _add_verify_release(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify-release",
        help="verify every file of a GitHub release against its Sigstore bundles",
        description="List the release's assets, pair each file with its <file>.sigstore.json, "
        "stream it through sha256 and verify the bundle against the expected signer. A signed "
        "checksums file covers the files it lists. A file nothing signs fails unless "
        "--allow-unsigned names it. No token is needed for a public repository. Exit 0: every "
        "file verified; 1: some file did not; 2: bad input (no such release); 3: GitHub "
        "could not be read.",
    )
    p.add_argument("repository", metavar="OWNER/REPO", help="the repository")
    p.add_argument("tag", metavar="TAG", help="the release's tag")
    p.add_argument(
        "--allow-unsigned",
        action="append",
        default=[],
        metavar="GLOB",
        help="asset names that may have no signature (repeatable), e.g. '*.md'",
    )
    p.add_argument(
        "--github-token-file",
        metavar="FILE",
        help="read the GitHub token from FILE (default: $GITHUB_TOKEN; none for a public "
        "repository)",
    )
    _identity_options(p)
    _trust_options(p, verify_only=True)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="verify_release")


def _add_gate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gate",
        help="check that every image a change deploys is signed by the identity its policy names",
        description="Find the image references in the files a change touches (Kubernetes, "
        "kustomize, Flux, Helm, Dockerfiles, compose, workflows), resolve each to a digest and "
        "verify it against the [[policy]] of the config file that covers its repository. In a "
        "pull request with a token, report as a check run on the head commit and one comment. "
        "Exit 0: every covered image passes; 1: some image fails; 2: bad input; 3: a registry "
        "could not be read.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="check every file under these instead of the change",
    )
    p.add_argument("--base", metavar="REF", help="the change is `git diff REF...HEAD`")
    p.add_argument("--head", metavar="REF", default="HEAD", help="with --base (default: HEAD)")
    p.add_argument(
        "--github-pull-request",
        type=int,
        metavar="N",
        help="the pull request (default: the workflow event's)",
    )
    p.add_argument(
        "--require-policy",
        action="store_true",
        help="an image no [[policy]] covers fails (default: a warning)",
    )
    p.add_argument(
        "--require-digest",
        action="store_true",
        help="a reference not pinned to a digest, or built from a variable, fails "
        "(default: a warning)",
    )
    p.add_argument(
        "--comment",
        choices=["on-failure", "always", "never"],
        default="on-failure",
        help="the pull request comment: kept up to date while the gate fails (default), "
        "always, or never",
    )
    p.add_argument(
        "--check-name",
        default="shipsign gate",
        metavar="NAME",
        help="the check run's name (default: shipsign gate)",
    )
    g = p.add_argument_group("GitHub (the report; without a token, only this output)")
    _github_options(g)
    _config_option(p)
    _trust_options(p, verify_only=True)
    _registry_options(p)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="gate")


def _add_sign_blob(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sign-blob",
        help="sign files keylessly: a Sigstore bundle beside each (cosign-compatible)",
        description="Sign each file (paths or globs, expanded by shipsign) with one ephemeral "
        "key and Fulcio certificate, log each signature in Rekor, and write its Sigstore "
        "bundle <file>.sigstore.json, which `cosign verify-blob --bundle` and `shipsign "
        "verify-blob` read. A file this identity already signed for its content is skipped. "
        "Exit 0: every file signed; 1: some file was not; 2: bad input (a missing, unreadable "
        "file, a glob matching nothing); 3: a Sigstore service could not be reached.",
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="files or globs to sign (default: [sign] files of the config file)",
    )
    p.add_argument(
        "--identity-token",
        metavar="TOKEN|FILE",
        help="an OIDC token for audience sigstore, or a file holding it; default: the CI "
        "environment's",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="sign again even where this identity's valid bundle is already there",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="do not read the bundles back and verify them after signing",
    )
    _file_options(p)
    _release_options(p)
    _config_option(p)
    _trust_options(p, verify_only=False)
    _output_option(p)
    _common(p)
    p.set_defaults(handler="sign_blob")


def _add_policy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "policy",
        help="export the signing policy for an admission engine or verifier",
        description="Write the policy of the config file (or of the identity flags) as the "
        "ENGINE's configuration: YAML documents, or for cosign and gh a shell script. With "
        "IMAGE-GLOBs, only the policies covering them, for exactly those repositories. Exit 2 "
        "when the engine cannot express the policy.",
    )
    p.add_argument("images", nargs="*", metavar="IMAGE-GLOB", help="repositories or globs")
    p.add_argument(
        "--engine",
        required=True,
        choices=[
            "kyverno",
            "kyverno-clusterpolicy",
            "policy-controller",
            "flux",
            "connaisseur",
            "cosign",
            "gh",
        ],
        help="kyverno: ImageValidatingPolicy (1.17+); kyverno-clusterpolicy: the deprecated "
        "ClusterPolicy; policy-controller: ClusterImagePolicy; flux: OCIRepository verify; "
        "connaisseur: Helm values; cosign, gh: verify commands",
    )
    p.add_argument(
        "--format",
        choices=["both", "bundle", "legacy"],
        default=None,
        help="what the signer writes (default: [sign] format of the config file, else both)",
    )
    p.add_argument("-o", "--output-file", metavar="FILE", help="write here instead of stdout")
    _identity_options(p)
    _config_option(p)
    g = p.add_argument_group("trust (default: the public-good Sigstore instance)")
    g.add_argument("--staging", action="store_true", help="Sigstore's staging instance")
    g.add_argument(
        "--trust-config",
        metavar="FILE",
        help="a ClientTrustConfig JSON: export the private instance's roots and keys",
    )
    _common(p)
    p.set_defaults(handler="policy")


def _add_init(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init",
        help="write a starter .shipsign.toml from the GitHub Actions context",
        description="Write a policy file whose signer is this workflow, from "
        "GITHUB_WORKFLOW_REF and GITHUB_REPOSITORY. For a reusable workflow, give the job's "
        "workflow ref (--job-workflow-ref or SHIPSIGN_JOB_WORKFLOW_REF): it becomes the signer "
        "and the caller repository is bound through github.repository.",
    )
    p.add_argument(
        "--job-workflow-ref",
        metavar="OWNER/REPO/.github/workflows/F@REF",
        help="the workflow the job runs, when it is a reusable workflow",
    )
    p.add_argument("-o", "--output-file", metavar="FILE", default=".shipsign.toml")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    _common(p)
    p.set_defaults(handler="init")
