"""`cosign verify` and `gh attestation verify` commands for the same policy: one command per
allowed signer (each takes one identity); any one of them passing admits the image."""

from __future__ import annotations

import shlex

from shipsign.errors import InputError
from shipsign.keyless.policy_options import PolicyField
from shipsign.policy.export_model import (
    ExportGroup,
    ExportRequest,
    ExportSigner,
    Output,
    dropped_claims_comment,
    engine_image,
    header,
)

__all__ = ["cosign", "gh"]

F = PolicyField
_COSIGN_CLAIMS = {
    F.GITHUB_REPOSITORY: "--certificate-github-workflow-repository",
    F.GITHUB_REF: "--certificate-github-workflow-ref",
    F.GITHUB_WORKFLOW_TRIGGER: "--certificate-github-workflow-trigger",
    F.GITHUB_SHA: "--certificate-github-workflow-sha",
}
_COSIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


_GH_CLAIMS = (F.GITHUB_REPOSITORY, F.GITHUB_REF, F.GITHUB_SHA, F.RUNNER_ENVIRONMENT)


def _script(
    request: ExportRequest, group: ExportGroup, notes: list[str], supported: tuple[F, ...]
) -> list[str]:
    lines = [f"# {line}" for line in header(request, *notes)]
    lines += [f"# {line}" for line in dropped_claims_comment(group, supported)]
    shown = ", ".join(engine_image(g) for g in group.images)
    lines.append(f"# IMAGE: an image of {shown}, by digest (REPOSITORY@sha256:...)")
    return lines


_IMAGE = '"$IMAGE"'  # written as is: the shell expands it


def _word(token: str) -> str:
    if token in (_IMAGE, "oci://" + _IMAGE):
        return token
    return shlex.quote(token)


def _join(head: list[str], flags: list[str]) -> str:
    """`head` on the first line, then each flag with its value (if any) on a line of its own."""
    lines = [" ".join(_word(t) for t in head)]
    i = 0
    while i < len(flags):
        if i + 1 < len(flags) and not flags[i + 1].startswith("--"):
            lines.append(f"{_word(flags[i])} {_word(flags[i + 1])}")
            i += 2
        else:
            lines.append(_word(flags[i]))
            i += 1
    return " \\\n    ".join(lines)


def _any_of(commands: list[str]) -> str:
    if len(commands) == 1:
        return commands[0]
    return " ||\n".join(f"{{ {c}; }}" for c in commands)


def cosign(request: ExportRequest) -> Output:
    trust = request.trust
    lines: list[str] = ["#!/bin/sh", "set -eu"]
    for group in request.groups:
        notes = [
            "cosign v2.6.3+ and v3 read the bundle first, then legacy .sig; cosign before "
            "2.6.3 reads only legacy .sig.",
            "Several commands: the image passes when any one succeeds.",
        ]
        if trust.custom:
            notes.append(
                f"trusted_root.json: the trustedRoot of the {trust.kind.value} instance "
                "(the `trustedRoot` member of the trust config)."
            )
        lines += _script(request, group, notes, tuple(_COSIGN_CLAIMS))
        commands = []
        for signer in group.signers:
            argv: list[str] = []
            argv += _pair(signer, "--certificate-oidc-issuer", "--certificate-identity")
            for claim, flag in _COSIGN_CLAIMS.items():
                if claim in signer.github:
                    argv += [flag, signer.github[claim]]
            if trust.custom:
                argv += ["--trusted-root", "trusted_root.json"]
            commands.append(_join(["cosign", "verify", _IMAGE], argv))
        lines.append(_any_of(commands))
    return Output(text="\n".join(lines) + "\n")


def _pair(signer: ExportSigner, issuer_flag: str, identity_flag: str) -> list[str]:
    out: list[str] = []
    for match, flag in ((signer.issuer, issuer_flag), (signer.identity, identity_flag)):
        if match.exact is not None:
            out += [flag, match.exact]
        else:
            out += [f"{flag}-regexp", str(match.regexp)]
    return out


def _repository(signer: ExportSigner) -> str:
    repo = signer.github.get(F.GITHUB_REPOSITORY)
    if repo:
        return repo.removeprefix("https://github.com/").strip("/")
    from shipsign.policy.patterns import literal_prefix

    text = signer.identity.exact or literal_prefix(signer.identity.regexp or "")
    parts = text.removeprefix("https://github.com/").split("/")
    if text.startswith("https://github.com/") and len(parts) >= 3:
        return f"{parts[0]}/{parts[1]}"
    raise InputError(
        "gh attestation verify needs the repository (--repo OWNER/REPO)",
        expected="github.repository in the policy, or a https://github.com/OWNER/REPO/ identity",
    )


def gh(request: ExportRequest) -> Output:
    if request.format == "legacy":
        raise InputError(
            "gh attestation verify reads only Sigstore bundles",
            expected="signatures in format both or bundle",
            found="format legacy",
        )
    trust = request.trust
    lines: list[str] = ["#!/bin/sh", "set -eu"]
    for group in request.groups:
        notes = ["gh reads the bundle referrers (--bundle-from-oci)."]
        lines += _script(request, group, notes, _GH_CLAIMS)
        commands = []
        for signer in group.signers:
            if signer.issuer.exact is None:
                raise InputError(
                    "gh attestation verify takes an exact OIDC issuer only",
                    found=str(signer.issuer.regexp),
                    expected="issuer = ... (not issuer-regexp) for the gh export",
                )
            argv = ["--repo", _repository(signer)]
            argv += ["--bundle-from-oci", "--predicate-type", _COSIGN_PREDICATE]
            argv += ["--cert-oidc-issuer", signer.issuer.exact]
            if signer.identity.exact is not None:
                argv += ["--cert-identity", signer.identity.exact]
            else:
                argv += ["--cert-identity-regex", str(signer.identity.regexp)]
            if F.GITHUB_REF in signer.github:
                argv += ["--source-ref", signer.github[F.GITHUB_REF]]
            if F.GITHUB_SHA in signer.github:
                argv += ["--source-digest", signer.github[F.GITHUB_SHA]]
            if signer.github.get(F.RUNNER_ENVIRONMENT) == "github-hosted":
                argv += ["--deny-self-hosted-runners"]
            if trust.custom:
                argv += ["--custom-trusted-root", "trusted_root.json"]
            commands.append(_join(["gh", "attestation", "verify", "oci://" + _IMAGE], argv))
        lines.append(_any_of(commands))
    return Output(text="\n".join(lines) + "\n")
