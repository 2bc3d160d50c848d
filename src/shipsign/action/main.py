"""`shipsign action`: the GitHub Action's entry point, a second front end over the use cases.

Masks every credential first, turns the inputs into one request, calls the use case, renders:
log text, `::error::` annotations, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`. Exit codes are
the CLI's table (`present/exitcodes.py`).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping
from datetime import datetime, timezone

from shipsign.action import workflow
from shipsign.action.build import (
    build_config,
    build_keychain,
    build_sign_request,
    build_verify_request,
    derived_secrets,
)
from shipsign.action.inputs import ActionInputs, parse_inputs, raw_secrets
from shipsign.action.outputs import (
    error_annotation,
    sign_annotations,
    sign_outputs,
    verify_annotations,
    verify_outputs,
)
from shipsign.present.exitcodes import INTERNAL, exit_code_for, report_code
from shipsign.secret import Secret

__all__ = ["masked_ambient_token", "run"]


def run(env: Mapping[str, str] | None = None) -> int:
    """Run the action with the runner's environment (default `os.environ`); return the exit code.

    Never raises: an error becomes one `::error::` annotation and its exit code. Identity
    tokens are requested from the runner (`id-token: write`) through `os.environ`, each one
    masked as it arrives (`masked_ambient_token`).
    """
    source = os.environ if env is None else env
    _mask(raw_secrets(source))
    try:
        inputs = parse_inputs(source)
        _mask(derived_secrets(inputs, source))
        _configure_logging(source)
        if inputs.command == "verify":
            return _verify(inputs, source)
        return _sign(inputs, source)
    except Exception as exc:  # the action's one place that turns an error into an exit code
        title, message = error_annotation(exc)
        workflow.annotate("error", message, title=title)
        if exit_code_for(exc) == INTERNAL:
            workflow.echo("".join(traceback.format_exception(exc)), stream=sys.stderr)
        return exit_code_for(exc)


def _mask(values: list[Secret] | tuple[Secret, ...]) -> None:
    for secret in values:
        workflow.add_mask(secret.reveal())


def _configure_logging(env: Mapping[str, str]) -> None:
    """Debug logs when the run is re-run with debug logging (the runner sets RUNNER_DEBUG=1)."""
    if env.get("RUNNER_DEBUG") == "1":
        logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("shipsign").setLevel(logging.DEBUG)


def _verify(inputs: ActionInputs, env: Mapping[str, str]) -> int:
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
    workflow.write_outputs(verify_outputs(report), env=env)
    if inputs.summary:
        workflow.append_step_summary(image_markdown(report), env=env)
    return report_code(report)


def masked_ambient_token() -> Secret:
    """Fetch an identity token from the runner (`id-token: write`) and mask it before use.

    The sign use case calls this for its first token and for every renewal, so each token is
    masked before anything that could show it is printed. Network: the runner's OIDC endpoint.
    """
    from shipsign.keyless.identity import resolve_identity_token

    token = resolve_identity_token(None, now=datetime.now(timezone.utc)).token
    workflow.add_mask(token.reveal())
    return token


def _sign(inputs: ActionInputs, env: Mapping[str, str]) -> int:
    from shipsign.present import sign as present
    from shipsign.sign import sign_images

    keychain = build_keychain(inputs, env)
    config = build_config(inputs, env)
    report = sign_images(build_sign_request(inputs, masked_ambient_token, keychain, config))
    workflow.echo_untrusted(present.sign_text(report))
    for title, message in sign_annotations(report):
        workflow.annotate("error", message, title=title)
    workflow.write_outputs(sign_outputs(report, present.sign_json(report)), env=env)
    if inputs.summary:
        workflow.append_step_summary(present.sign_markdown(report), env=env)
    return report_code(report, internal=report.any_internal)
