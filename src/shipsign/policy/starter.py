"""`shipsign init`: a first `.shipsign.toml` from the GitHub Actions context.

The signer identity Fulcio certifies is `https://github.com/` + the *job's* workflow ref. For a
reusable workflow that is the called workflow, not the caller's: the starter then names the
reusable workflow as the signer and binds the caller through `github.repository`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shipsign.errors import InputError

__all__ = ["StarterContext", "starter_context", "starter_text"]

_WORKFLOW_REF = re.compile(r"(?P<repo>[^/]+/[^/]+)/(?P<path>\.github/workflows/[^@]+)@(?P<ref>.+)")
_ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True, slots=True, kw_only=True)
class StarterContext:
    workflow_ref: str  # OWNER/REPO/.github/workflows/F@REF of the run (the caller)
    job_workflow_ref: str  # the workflow the job runs (a reusable one, or the same)
    repository: str  # OWNER/REPO
    registry: str = "ghcr.io"

    @property
    def reusable(self) -> bool:
        return self.job_workflow_ref != self.workflow_ref


def starter_context(
    env: Mapping[str, str], *, job_workflow_ref: str | None = None
) -> StarterContext:
    """Read `GITHUB_WORKFLOW_REF` and `GITHUB_REPOSITORY`; `job_workflow_ref` (or
    `SHIPSIGN_JOB_WORKFLOW_REF`) names a reusable workflow the job runs."""
    workflow_ref = env.get("GITHUB_WORKFLOW_REF", "")
    if not _WORKFLOW_REF.fullmatch(workflow_ref):
        raise InputError(
            "shipsign init needs the GitHub Actions context",
            expected="GITHUB_WORKFLOW_REF=OWNER/REPO/.github/workflows/FILE@REF",
            found=repr(workflow_ref) if workflow_ref else "GITHUB_WORKFLOW_REF is not set",
            hint="run it in a workflow step, or set the variable by hand",
        )
    job = job_workflow_ref or env.get("SHIPSIGN_JOB_WORKFLOW_REF", "") or workflow_ref
    if not _WORKFLOW_REF.fullmatch(job):
        raise InputError(
            "the job workflow ref is not a workflow ref",
            expected="OWNER/REPO/.github/workflows/FILE@REF",
            found=repr(job),
        )
    match = _WORKFLOW_REF.fullmatch(workflow_ref)
    assert match is not None  # noqa: S101 (checked above)
    repository = env.get("GITHUB_REPOSITORY") or match["repo"]
    return StarterContext(workflow_ref=workflow_ref, job_workflow_ref=job, repository=repository)


def _s(value: str) -> str:
    return json.dumps(value)  # a JSON string is a TOML basic string


def _identity(job_workflow_ref: str) -> tuple[str, str]:
    """The identity (exact, or a tag glob) and a comment saying which it is."""
    match = _WORKFLOW_REF.fullmatch(job_workflow_ref)
    assert match is not None  # noqa: S101 (checked by starter_context)
    base = f"https://github.com/{match['repo']}/{match['path']}"
    ref = match["ref"]
    if ref.startswith("refs/tags/"):
        return f"{base}@refs/tags/v*", "any tag v*: a glob; `*` stays within one path segment"
    return f"{base}@{ref}", f"exactly the ref this ran on ({ref})"


def starter_text(context: StarterContext) -> str:
    """The starter file's text (a valid policy file: `shipsign init` reads it back)."""
    owner_repo = context.repository.lower()
    image = f"{context.registry}/{owner_repo}"
    identity, how = _identity(context.job_workflow_ref)
    lines = [
        "# shipsign's policy file: `shipsign sign`, `shipsign verify` and `shipsign policy`",
        "# read it. Flags beat Action inputs and SHIPSIGN_* variables, which beat this file.",
        "",
        "[sign]",
        f"images = [{_s(image)}]   # tags and digests come from the command line (`@sha256:...`)",
        'format = "both"          # the legacy .sig tag and a Sigstore bundle: every verifier',
        "",
        "[[policy]]                # who may sign which images; several entries = any of them",
        f"images = [{_s(image)}]",
        f"issuer = {_s(_ISSUER)}",
    ]
    if context.reusable:
        lines += [
            "# This job runs a reusable workflow. Fulcio's certificate names the workflow that",
            "# runs the job (the reusable one), so that is the signer identity. It is shared:",
            "# any repository that calls it gets the same identity, and only the",
            "# repository claim below tells this repository's signatures from theirs.",
            f"# Caller: {context.workflow_ref}",
        ]
    lines += [
        f"identity = {_s(identity)}   # {how}",
        f"github = {{ repository = {_s(context.repository)} }}",
        "",
    ]
    return "\n".join(lines)
