"""Command handlers: turn parsed arguments into one request, call one use case, render.

Handlers import their use case and renderer inside the body so that `--help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipsign.keyless.policy import IdentityPolicy
    from shipsign.keyless.trust import TrustOptions
    from shipsign.secret import Secret

__all__ = ["action", "resolve", "sign", "tree", "verify", "verify_blob", "version"]


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


def resolve(args: argparse.Namespace) -> int:
    """Resolve images to `REPOSITORY@digest`."""
    from shipsign.cli import render
    from shipsign.inspect import ResolveRequest, resolve_images
    from shipsign.present.exitcodes import OK

    request = ResolveRequest(
        images=tuple(args.images),
        platform=args.platform,
        insecure_registries=tuple(args.insecure_registry),
    )
    render.resolved(resolve_images(request), output=args.output)
    return OK


def tree(args: argparse.Namespace) -> int:
    """Show the legacy tags and referrers attached to an image."""
    from shipsign.cli import render
    from shipsign.inspect import TreeRequest, fetch_tree
    from shipsign.present.exitcodes import OK

    request = TreeRequest(image=args.image, insecure_registries=tuple(args.insecure_registry))
    render.tree(fetch_tree(request), output=args.output)
    return OK


def _identity_token(value: str | None) -> Secret | None:
    """`--identity-token`: the token itself, or (as cosign's flag) a file that holds it."""
    from pathlib import Path

    from shipsign.errors import InputError
    from shipsign.secret import Secret

    if not value:
        return None
    path = Path(value)
    try:
        is_file = path.is_file()
    except OSError:  # e.g. a token longer than a file name may be
        is_file = False
    if "/" in value or is_file:  # a JWT is base64url: it never contains "/"
        try:
            return Secret(path.read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                "cannot read the identity token file",
                where=value,
                expected="a file holding one OIDC token (JWT)",
                found=type(exc).__name__,
            ) from None
    return Secret(value)


def _policy(args: argparse.Namespace) -> IdentityPolicy:
    from shipsign.keyless.policy import build_identity_policy
    from shipsign.keyless.policy_options import POLICY_OPTIONS, OptionSource

    given = {option.field.value: getattr(args, option.field.value) for option in POLICY_OPTIONS}
    return build_identity_policy([given], source=OptionSource.CLI)


def _trust(args: argparse.Namespace) -> TrustOptions:
    from pathlib import Path

    from shipsign.keyless.trust import Instance, TrustOptions

    trusted_root = getattr(args, "trusted_root", None)
    return TrustOptions(
        instance=Instance.STAGING if args.staging else Instance.PRODUCTION,
        offline=args.offline,
        trust_config=Path(args.trust_config) if args.trust_config else None,
        trusted_root=Path(trusted_root) if trusted_root else None,
    )


def verify(args: argparse.Namespace) -> int:
    """Verify the signatures on images."""
    import json
    from pathlib import Path

    from shipsign.cli import render
    from shipsign.present import verify as present
    from shipsign.present.exitcodes import report_code
    from shipsign.verify import SourceFormat, VerifyRequest, verify_images

    request = VerifyRequest(
        images=tuple(args.images),
        policy=_policy(args),
        key=Path(args.key) if args.key else None,
        trust=_trust(args),
        format=SourceFormat(args.format),
        recursive=args.recursive,
        insecure_registries=tuple(args.insecure_registry),
        require_sct=not args.insecure_ignore_sct,
        require_tlog=not args.insecure_ignore_tlog,
    )
    report = verify_images(request)
    if args.output == "json":
        render.out(json.dumps(present.verify_json(report), indent=2))
    else:
        render.out(present.verify_text(report))
    render.step_summary(present.image_markdown(report))
    return report_code(report)


def verify_blob(args: argparse.Namespace) -> int:
    """Verify a Sigstore bundle for a file."""
    import json
    from pathlib import Path

    from shipsign.cli import render
    from shipsign.present import verify as present
    from shipsign.present.exitcodes import NEGATIVE, OK
    from shipsign.verify import VerifyBlobRequest, verify_blob

    request = VerifyBlobRequest(
        bundle=Path(args.bundle),
        file=Path(args.file) if args.file else None,
        digest=args.digest,
        policy=_policy(args),
        trust=_trust(args),
    )
    report = verify_blob(request)
    if args.output == "json":
        render.out(json.dumps(present.blob_json(report), indent=2))
    else:
        render.out(present.blob_text(report))
    return OK if report.ok else NEGATIVE


def action(args: argparse.Namespace) -> int:
    """Run as the GitHub Action: inputs from INPUT_* variables, outputs to the runner's files."""
    from shipsign.action.main import run

    return run()


def sign(args: argparse.Namespace) -> int:
    """Sign images and publish their signatures; read them back and verify."""
    import json

    from shipsign.cli import render
    from shipsign.present import sign as present
    from shipsign.present.exitcodes import report_code
    from shipsign.sign import SignFormat, SignRequest, sign_images

    request = SignRequest(
        images=tuple(args.images),
        format=SignFormat(args.format),
        identity_token=_identity_token(args.identity_token),
        trust=_trust(args),
        recursive=args.recursive,
        annotations=tuple(args.annotation),
        force=args.force,
        verify_after=not args.no_verify,
        insecure_registries=tuple(args.insecure_registry),
    )
    report = sign_images(request)
    if args.output == "json":
        render.out(json.dumps(present.sign_json(report), indent=2))
    else:
        render.out(present.sign_text(report))
    render.step_summary(present.sign_markdown(report))
    return report_code(report, internal=report.any_internal)
