"""Command handlers: turn parsed arguments into one request, call one use case, render.

Handlers import their use case and renderer inside the body so that `--help` stays fast.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipsign.blobs.model import FileSignOptions
    from shipsign.github_api import GitHubSettings
    from shipsign.keyless.policy import IdentityPolicy
    from shipsign.keyless.trust import TrustOptions
    from shipsign.policy.config import ShipsignConfig
    from shipsign.secret import Secret
    from shipsign.sign import SignRequest

__all__ = [
    "action",
    "gate",
    "init",
    "policy",
    "resolve",
    "sign",
    "sign_blob",
    "tree",
    "verify",
    "verify_blob",
    "verify_release",
    "version",
]


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


def _config(args: argparse.Namespace) -> ShipsignConfig | None:
    """The policy file: --config, else $SHIPSIGN_CONFIG, else found from the working directory."""
    import os
    from pathlib import Path

    from shipsign.policy.config import resolve_config

    return resolve_config(getattr(args, "config", None), os.environ, Path.cwd())


def _identity_flags_given(args: argparse.Namespace) -> bool:
    from shipsign.keyless.policy_options import POLICY_OPTIONS

    return any(getattr(args, option.field.value) for option in POLICY_OPTIONS)


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
    from shipsign.present.configured import verify_with_config
    from shipsign.present.exitcodes import report_code
    from shipsign.verify import SourceFormat, VerifyRequest, verify_images

    # Identity flags (or --key) replace the file's policy entirely; without them, each image
    # is checked against the [[policy]] that covers it.
    config = None if _identity_flags_given(args) or args.key else _config(args)
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
        audit=args.audit,
    )
    report = verify_with_config(request, config) if config else verify_images(request)
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

    files = tuple(Path(f) for f in args.files)
    checksums = Path(args.checksums) if args.checksums else None
    if checksums is None and len(files) > 1:
        from shipsign.errors import InputError

        raise InputError(
            "one bundle verifies one file",
            expected="FILE --bundle B, or --checksums SUMS --bundle SUMS.sigstore.json FILE...",
            found=f"{len(files)} files",
        )
    request = VerifyBlobRequest(
        bundle=Path(args.bundle),
        file=files[0] if files and checksums is None else None,
        digest=args.digest,
        policy=_policy(args),
        trust=_trust(args),
        checksums=checksums,
        files=files if checksums is not None else (),
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


def _files_to_sign(
    args: argparse.Namespace, given: list[str], config: ShipsignConfig | None
) -> FileSignOptions | None:
    """Files from the command line (relative to the working directory), else the config
    file's `[sign] files` (relative to the config file's folder); None when neither has any."""
    from pathlib import Path

    from shipsign.blobs.model import FileSignOptions

    if given:
        patterns, root = tuple(given), Path(".")
    elif config is not None and config.sign.files:
        patterns, root = config.sign.files, config.path.parent
    else:
        return None
    return FileSignOptions(
        patterns=patterns,
        root=root,
        bundle_dir=Path(args.bundle_dir) if args.bundle_dir else None,
        checksums=args.checksums,
        legacy_outputs=args.legacy_blob_outputs,
        force=args.force,
    )


def _render_sign(args: argparse.Namespace, request: SignRequest) -> int:
    import json

    from shipsign.cli import render
    from shipsign.present import sign as present
    from shipsign.present.exitcodes import report_code
    from shipsign.sign import sign_artifacts

    if getattr(args, "github_release", None):
        return _sign_and_publish(args, request)
    report = sign_artifacts(request)
    if args.output == "json":
        render.out(json.dumps(present.sign_json(report), indent=2))
    else:
        render.out(present.sign_text(report))
    render.step_summary(present.sign_markdown(report))
    return report_code(report, internal=report.any_internal)


def _github_settings(args: argparse.Namespace, *, anonymous: bool = False) -> GitHubSettings:
    from shipsign.github_api import GitHubSettings

    token_file = Path(args.github_token_file) if args.github_token_file else None
    return GitHubSettings.from_env(os.environ, token_file=token_file, anonymous=anonymous)


def _github_repository(args: argparse.Namespace) -> str:
    from shipsign.errors import InputError

    value = getattr(args, "github_repository", None) or os.environ.get("GITHUB_REPOSITORY", "")
    if not value:
        raise InputError(
            "which GitHub repository?",
            expected="--github-repository OWNER/REPO, or GITHUB_REPOSITORY",
        )
    return str(value)


def _sign_and_publish(args: argparse.Namespace, request: SignRequest) -> int:
    """Sign, then put the file outputs on the GitHub release (`--github-release`)."""
    import json

    from shipsign.cli import render
    from shipsign.errors import InputError
    from shipsign.present import release as present_release
    from shipsign.present import sign as present
    from shipsign.present.exitcodes import NEGATIVE, report_code
    from shipsign.release.publish import ReleaseTarget, release_tag, sign_and_publish

    if request.files is None:
        raise InputError(
            "--github-release uploads the bundles of signed files, and no file is signed",
            expected="--file PATH (or FILE arguments of sign-blob, or [sign] files)",
        )
    target = ReleaseTarget(
        repository=_github_repository(args),
        tag=release_tag(args.github_release, os.environ),
        create=args.create_release,
        upload_files=args.upload_files,
        force=args.force,
    )
    published = sign_and_publish(request, target, settings=_github_settings(args))
    report, upload = published.sign, published.upload
    if args.output == "json":
        doc = present.sign_json(report)
        doc["release"] = present_release.upload_json(upload)
        render.out(json.dumps(doc, indent=2))
    else:
        render.out(present.sign_text(report) + present_release.upload_text(upload))
    render.step_summary(present.sign_markdown(report))
    code = report_code(report, internal=report.any_internal)
    return NEGATIVE if code == 0 and upload.conflicts else code


def verify_release(args: argparse.Namespace) -> int:
    """Verify every file of a GitHub release against its bundles (and signed checksums)."""
    import json

    from shipsign.cli import render
    from shipsign.present import release as present
    from shipsign.present.exitcodes import NEGATIVE, OK
    from shipsign.release.verify import VerifyReleaseRequest
    from shipsign.release.verify import verify_release as run

    request = VerifyReleaseRequest(
        repository=args.repository,
        tag=args.tag,
        policy=_policy(args),
        trust=_trust(args),
        allow_unsigned=tuple(args.allow_unsigned),
    )
    report = run(request, settings=_github_settings(args, anonymous=True))
    if args.output == "json":
        render.out(json.dumps(present.release_json(report), indent=2))
    else:
        render.out(present.release_text(report))
    render.step_summary(present.release_markdown(report))
    return OK if report.ok else NEGATIVE


def gate(args: argparse.Namespace) -> int:
    """Check the images a change deploys against the config file's [[policy]] entries."""
    import json

    from shipsign.cli import render
    from shipsign.gate.annotations import workflow_annotations
    from shipsign.gate.comment import CommentMode
    from shipsign.gate.github_report import ReportOptions
    from shipsign.gate.judge import GateOptions
    from shipsign.gate.markdown import step_summary_markdown
    from shipsign.gate.run import GateRequest, run_gate
    from shipsign.present import gate as present

    settings = None
    if args.github_token_file or os.environ.get("GITHUB_TOKEN", "").strip():
        settings = _github_settings(args)
    request = GateRequest(
        root=_repository_root(Path.cwd()),
        paths=tuple(args.paths),
        base=args.base,
        head=args.head,
        pull_request=args.github_pull_request,
        repository=args.github_repository,
        config=_config(args),
        options=GateOptions(
            require_policy=args.require_policy,
            require_digest=args.require_digest,
            trust=_trust(args),
            insecure_registries=tuple(args.insecure_registry),
        ),
        report=ReportOptions(name=args.check_name, comment=CommentMode(args.comment)),
    )
    outcome = run_gate(request, environ=os.environ, settings=settings)
    if args.output == "json":
        render.out(json.dumps(present.gate_json(outcome), indent=2))
    else:
        render.out(present.gate_text(outcome))
    render.step_summary(step_summary_markdown(outcome.report, name=args.check_name))
    if outcome.needs_workflow_annotations and os.environ.get("GITHUB_ACTIONS") == "true":
        render.out("\n".join(workflow_annotations(outcome.report, limit=50)))
    return present.gate_code(outcome.report)


def _repository_root(start: Path) -> Path:
    """The top of the git work tree holding `start` (references are relative to it); `start`
    itself outside one."""
    for directory in (start, *start.parents):
        try:
            if (directory / ".git").exists():
                return directory
        except PermissionError:  # a parent this user may not search: no clone found there
            continue
    return start


def sign(args: argparse.Namespace) -> int:
    """Sign images (and files) and publish their signatures; read them back and verify."""
    from shipsign.errors import InputError
    from shipsign.policy.config import SignSettings, images_to_sign
    from shipsign.sign import SignFormat, SignRequest

    config = _config(args)
    settings = config.sign if config else SignSettings()
    recursive = args.recursive if args.recursive is not None else bool(settings.recursive)
    files = _files_to_sign(args, args.files, config)
    if not args.images and files is None:
        raise InputError(
            "nothing to sign",
            expected="one or more images, and/or --file PATH (or [sign] files in the config)",
        )
    request = SignRequest(
        images=images_to_sign(settings, args.images, config.path if config else None),
        format=SignFormat(args.format or settings.format or "both"),
        identity_token=_identity_token(args.identity_token),
        trust=_trust(args),
        recursive=recursive,
        annotations=tuple(args.annotation),
        force=args.force,
        verify_after=not args.no_verify,
        tags=tuple(args.tag),
        insecure_registries=tuple(args.insecure_registry),
        files=files,
    )
    return _render_sign(args, request)


def sign_blob(args: argparse.Namespace) -> int:
    """Sign files: a Sigstore bundle beside each (and a signed checksums file if asked)."""
    from shipsign.errors import InputError
    from shipsign.sign import SignRequest

    config = _config(args)
    files = _files_to_sign(args, args.files, config)
    if files is None:
        raise InputError(
            "no file to sign",
            expected="one or more FILEs (paths or globs), or [sign] files in the config file",
        )
    request = SignRequest(
        identity_token=_identity_token(args.identity_token),
        trust=_trust(args),
        force=args.force,
        verify_after=not args.no_verify,
        files=files,
    )
    return _render_sign(args, request)


def policy(args: argparse.Namespace) -> int:
    """Export the policy for an admission engine or verifier."""
    from pathlib import Path

    from shipsign.cli import render
    from shipsign.keyless.policy_options import POLICY_OPTIONS
    from shipsign.policy.export import (
        Engine,
        ExportRequest,
        export_policy,
        groups_from_config,
        groups_from_flags,
    )
    from shipsign.policy.trust_export import export_trust
    from shipsign.present.exitcodes import OK

    config = None
    if _identity_flags_given(args):
        fields = {o.field.value: getattr(args, o.field.value) for o in POLICY_OPTIONS}
        groups = groups_from_flags(fields, args.images)
        source = "the identity flags"
    else:
        config = _config(args)
        if config is None:
            from shipsign.errors import InputError

            raise InputError(
                "no policy to export",
                expected="a .shipsign.toml (or --config FILE), or identity flags",
                found=f"no config file from {Path.cwd()} up to the repository root",
                hint="`shipsign init` writes a starter file in a GitHub workflow",
            )
        groups = groups_from_config(config, args.images)
        source = str(config.path)
    settings_format = config.sign.format if config else None
    request = ExportRequest(
        engine=Engine(args.engine),
        groups=groups,
        format=args.format or settings_format or "both",
        trust=export_trust(
            staging=args.staging,
            trust_config=Path(args.trust_config) if args.trust_config else None,
        ),
        source=source,
    )
    text = export_policy(request)
    if args.output_file:
        render.write_file(Path(args.output_file), text)
    else:
        render.out(text.rstrip("\n"))
    return OK


def init(args: argparse.Namespace) -> int:
    """Write a starter policy file from the GitHub Actions context."""
    import os
    from pathlib import Path

    from shipsign.cli import render
    from shipsign.errors import InputError
    from shipsign.policy.config import load_config
    from shipsign.policy.starter import starter_context, starter_text
    from shipsign.present.exitcodes import OK

    path = Path(args.output_file)
    if path.exists() and not args.force:
        raise InputError("the file exists", where=str(path), hint="pass --force to overwrite it")
    context = starter_context(os.environ, job_workflow_ref=args.job_workflow_ref)
    render.write_file(path, starter_text(context))
    load_config(path)  # what we wrote must read back
    render.out(f"wrote {path}")
    return OK
