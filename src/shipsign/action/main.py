"""`shipsign action`: the GitHub Action's entry point, a second front end over the use cases.

Masks every credential first, turns the inputs into one request, calls the use case, renders:
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
    build_keychain,
    build_sign_request,
    build_verify_request,
    derived_secrets,
)
from shipsign.action.inputs import ActionInputs, parse_inputs, raw_result_file, raw_secrets
from shipsign.action.outputs import (
    error_annotation,
    failure_outputs,
    finish_outputs,
    sign_annotations,
    sign_outputs,
    verify_annotations,
    verify_outputs,
)
from shipsign.present.exitcodes import INTERNAL, exit_code_for, report_code
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
        code, values = (
            _verify(inputs, source) if inputs.command == "verify" else _sign(inputs, source)
        )
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
    """Debug logs when the run is re-run with debug logging (the runner sets RUNNER_DEBUG=1)."""
    if env.get("RUNNER_DEBUG") == "1":
        from shipsign.present.logs import configure_logging

        configure_logging(sys.stderr)


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


def _sign(inputs: ActionInputs, env: Mapping[str, str]) -> tuple[int, dict[str, str]]:
    from shipsign.present import sign as present
    from shipsign.sign import sign_artifacts

    keychain = build_keychain(inputs, env)
    config = build_config(inputs, env)
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
    request = build_sign_request(
        inputs, masked_ambient_token, keychain, config, workspace=workspace
    )
    report = sign_artifacts(request)
    written = [p for f in report.files if f.ok for p in f.outputs]
    written += [f.path for f in report.files if f.ok and f.checksums]
    workflow.give_to_workspace_owner(written, env=env)  # bundles must not stay root's
    workflow.echo_untrusted(present.sign_text(report))
    for title, message in sign_annotations(report):
        workflow.annotate("error", message, title=title)
    if inputs.summary:
        workflow.append_step_summary(present.sign_markdown(report), env=env)
    return report_code(report, internal=report.any_internal), sign_outputs(
        report, present.sign_json(report), workspace=workspace
    )
