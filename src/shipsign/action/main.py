"""`shipsign action`: the GitHub Action's entry point, a second front end over the use cases.

Commands: `sign` (with `github-release`, the sign-and-publish use case), `verify`, `gate` (the
pull-request gate) and `verify-release`. Masks every credential first, turns the inputs into
one request, calls the use case, renders:
log text, `::error::` annotations, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`. Exit codes are
the CLI's table (`present/exitcodes.py`). Every output is written on every exit path, fatal
errors included (`verified=false`, the error class, the counts); everything printed or written
passes through `redact` (in `workflow.py` and the log formatter).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from shipsign.action import workflow
from shipsign.action.build import (
    build_config,
    build_gate_request,
    build_github_settings,
    build_keychain,
    build_release_target,
    build_sign_request,
    build_verify_release_request,
    build_verify_request,
    derived_secrets,
)
from shipsign.action.inputs import ActionInputs, parse_inputs, raw_result_file, raw_secrets
from shipsign.action.outputs import (
    error_annotation,
    failure_outputs,
    finish_outputs,
    gate_outputs,
    release_annotations,
    sign_annotations,
    sign_outputs,
    upload_annotations,
    upload_markdown,
    upload_outputs,
    verify_annotations,
    verify_outputs,
    verify_release_outputs,
)
from shipsign.errors import InputError
from shipsign.present.exitcodes import INTERNAL, NEGATIVE, OK, exit_code_for, report_code
from shipsign.secret import Secret, remember

__all__ = ["masked_ambient_token", "run"]


def run(env: Mapping[str, str] | None = None) -> int:
    """Run the action with the runner's environment (default `os.environ`); return the exit code.

    Never raises: an error becomes one `::error::` annotation, its exit code, and the outputs
    of a failed run. Identity tokens are requested from the runner (`id-token: write`) through
    `os.environ`, each one masked as it arrives (`masked_ambient_token`).
    """
    source = os.environ if env is None else env
    _mask(raw_secrets(source))
    try:
        inputs = parse_inputs(source)
        _mask(derived_secrets(inputs, source))
        _configure_logging(source)
        code, values = _COMMANDS[inputs.command](inputs, source)
    except Exception as exc:  # the action's one place that turns an error into an exit code
        code, values = _failed(exc)
    result_file, wanted = "", raw_result_file(source)
    if wanted:
        try:
            result_file = workflow.write_workspace_file(
                wanted, values.get("result", "") + "\n", env=source
            )
        except Exception as exc:  # the run's outputs still go out, with this error's class
            code = max(code, _failed(exc)[0])
    workflow.write_outputs(finish_outputs(values, code, result_file), env=source)
    return code


def _failed(exc: BaseException) -> tuple[int, dict[str, str]]:
    """Report an error that stopped the run; its exit code and the outputs of a failed run."""
    title, message = error_annotation(exc)
    workflow.annotate("error", message, title=title)
    code = exit_code_for(exc)
    if code == INTERNAL:
        workflow.echo("".join(traceback.format_exception(exc)), stream=sys.stderr)
    return code, failure_outputs(exc)


def _mask(values: list[Secret] | tuple[Secret, ...]) -> None:
    remember(*values)  # redact removes them from everything we print or write
    for secret in values:
        workflow.add_mask(secret.reveal())


def _configure_logging(env: Mapping[str, str]) -> None:
    """Warnings, redacted; debug logs too when the run is re-run with debug logging (the
    runner sets RUNNER_DEBUG=1)."""
    from shipsign.present.logs import configure_logging

    configure_logging(sys.stderr, debug=env.get("RUNNER_DEBUG") == "1")


def _verify(inputs: ActionInputs, env: Mapping[str, str]) -> tuple[int, dict[str, str]]:
    from shipsign.present.configured import verify_with_config
    from shipsign.present.verify import image_markdown, verify_text
    from shipsign.verify import verify_images

    request = build_verify_request(inputs, build_keychain(inputs, env))
    # Identity inputs replace the policy file's policy entirely.
    config = None if any(inputs.policy.values()) else build_config(inputs, env)
    report = verify_with_config(request, config) if config else verify_images(request)
    workflow.echo_untrusted(verify_text(report))
    for title, message in verify_annotations(report):
        workflow.annotate("error", message, title=title)
    if inputs.summary:
        workflow.append_step_summary(image_markdown(report), env=env)
    return report_code(report), verify_outputs(report)


def masked_ambient_token() -> Secret:
    """Fetch an identity token from the runner (`id-token: write`) and mask it before use.

    The sign use case calls this for its first token and for every renewal, so each token is
    masked before anything that could show it is printed. Network: the runner's OIDC endpoint.
    """
    from shipsign.keyless.identity import resolve_identity_token

    token = resolve_identity_token(None, now=datetime.now(timezone.utc)).token
    _mask([token])
    return token


def _workspace(env: Mapping[str, str]) -> Path:
    return Path(env.get("GITHUB_WORKSPACE") or Path.cwd())


def _sign(inputs: ActionInputs, env: Mapping[str, str]) -> tuple[int, dict[str, str]]:
    from shipsign.present import release as present_release
    from shipsign.present import sign as present
    from shipsign.sign import sign_artifacts

    keychain = build_keychain(inputs, env)
    config = build_config(inputs, env)
    workspace = _workspace(env)
    request = build_sign_request(
        inputs, masked_ambient_token, keychain, config, workspace=workspace
    )
    upload = None
    if inputs.github_release:
        from shipsign.release.publish import sign_and_publish

        if request.files is None:
            raise InputError(
                "input `github-release` puts the bundles of signed files on the release, "
                "and no file is signed",
                expected="input `files` (or [sign] files in the policy file)",
                found="no files",
            )
        target = build_release_target(inputs, env)
        settings = build_github_settings(inputs, env, needed_by="input `github-release`")
        published = sign_and_publish(request, target, settings=settings)
        report, upload = published.sign, published.upload
    else:
        report = sign_artifacts(request)
    written = [p for f in report.files if f.ok for p in f.outputs]
    written += [f.path for f in report.files if f.ok and f.checksums]
    workflow.give_to_workspace_owner(written, env=env)  # bundles must not stay root's
    text = present.sign_text(report)
    result = present.sign_json(report)
    if upload is not None:
        text += present_release.upload_text(upload)
        result["release"] = present_release.upload_json(upload)
    workflow.echo_untrusted(text)
    annotations = sign_annotations(report) + (upload_annotations(upload) if upload else [])
    for title, message in annotations:
        workflow.annotate("error", message, title=title)
    if inputs.summary:
        summary = present.sign_markdown(report)
        workflow.append_step_summary(
            summary + (upload_markdown(upload) if upload is not None else ""), env=env
        )
    code = report_code(report, internal=report.any_internal)
    values = sign_outputs(report, result, workspace=workspace)
    if upload is not None:
        values |= upload_outputs(upload)
        if code == OK and upload.conflicts:
            code = NEGATIVE  # a bundle not on the release: consumers would find it unsigned
    return code, values


_ANNOTATION_LIMIT = 50  # GitHub shows at most 50 annotations of a job (10 per step and level)


def _gate(inputs: ActionInputs, env: Mapping[str, str]) -> tuple[int, dict[str, str]]:
    from shipsign.gate.annotations import workflow_annotations
    from shipsign.gate.markdown import step_summary_markdown
    from shipsign.gate.run import run_gate
    from shipsign.oci import Registries
    from shipsign.present import gate as present

    request = build_gate_request(inputs, env, build_config(inputs, env), root=_workspace(env))
    workflow.let_git_read_the_workspace(env)  # git diff, as root, in the runner user's clone
    with Registries(
        keychain=build_keychain(inputs, env), insecure=inputs.insecure_registries, env=env
    ) as registries:
        outcome = run_gate(
            request,
            environ=env,
            # Without a token: no check run or comment; the change is `base`'s git diff.
            settings=build_github_settings(inputs, env, needed_by="the gate")
            if inputs.github_token
            else None,
            registries=registries,
        )
    report = outcome.report
    # The fallback's reason goes out once, as a notice, not also in the text.
    workflow.echo_untrusted(present.gate_text(outcome, fallback_line=False))
    if outcome.needs_workflow_annotations:
        lines = workflow_annotations(report)
        workflow.commands(lines[:_ANNOTATION_LIMIT])
        if len(lines) > _ANNOTATION_LIMIT:
            left = len(lines) - _ANNOTATION_LIMIT
            workflow.echo(f"{left} more finding(s) without an annotation: see the step summary")
    if outcome.github is not None and outcome.github.fell_back:
        workflow.annotate("notice", outcome.github.fell_back, title="shipsign gate: no check run")
    if inputs.summary:
        workflow.append_step_summary(step_summary_markdown(report, name=inputs.check_name), env=env)
    return present.gate_code(report), gate_outputs(outcome, present.gate_json(outcome))


def _verify_release(inputs: ActionInputs, env: Mapping[str, str]) -> tuple[int, dict[str, str]]:
    from shipsign.present import release as present
    from shipsign.release.verify import verify_release

    request = build_verify_release_request(inputs, env)
    # No token is fine for a public repository (GitHub's anonymous rate limit then applies).
    settings = build_github_settings(inputs, env, needed_by="verify-release", anonymous=True)
    report = verify_release(request, settings=settings)
    workflow.echo_untrusted(present.release_text(report))
    for title, message in release_annotations(report):
        workflow.annotate("error", message, title=title)
    if inputs.summary:
        workflow.append_step_summary(present.release_markdown(report), env=env)
    code = OK if report.ok else NEGATIVE
    return code, verify_release_outputs(report, present.release_json(report))


_COMMANDS = {
    "sign": _sign,
    "verify": _verify,
    "gate": _gate,
    "verify-release": _verify_release,
}
