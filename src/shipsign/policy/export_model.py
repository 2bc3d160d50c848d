"""What every engine export shares: the policy as engines see it, and the common rules.

What every engine gets alike: one identity per attestor, authority or matcher (cosign v3's
bundle path refuses more than one, so several allowed signers become several ORed
attestors); anchored, dot-escaped, RE2-valid regexes (every engine matches unanchored);
image patterns `REPO:*` and `REPO@*` in the engine's own spelling of Docker Hub. Claims an
engine cannot check are named in the output's comments, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from shipsign.errors import InputError
from shipsign.keyless.policy_options import PolicyField, policy_option
from shipsign.policy.config import ShipsignConfig, Signer, repository_glob
from shipsign.policy.patterns import anchored, glob_to_regexp, pattern_problems, re2_problem
from shipsign.policy.trust_export import ExportTrust
from shipsign.policy.yaml_text import Document

__all__ = [
    "Engine",
    "ExportGroup",
    "ExportRequest",
    "ExportSigner",
    "Match",
    "Output",
    "dropped_claims_comment",
    "engine_image",
    "groups_from_config",
    "groups_from_flags",
    "header",
    "image_patterns",
]

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DOCKER_HUB = "index.docker.io/"


class Engine(str, Enum):
    KYVERNO = "kyverno"
    KYVERNO_CLUSTERPOLICY = "kyverno-clusterpolicy"
    POLICY_CONTROLLER = "policy-controller"
    FLUX = "flux"
    CONNAISSEUR = "connaisseur"
    COSIGN = "cosign"
    GH = "gh"


@dataclass(frozen=True, slots=True)
class Match:
    """An exact value or an anchored RE2 regular expression."""

    exact: str | None = None
    regexp: str | None = None

    @property
    def as_regexp(self) -> str:
        """A regular expression for engines that only take one (Flux)."""
        if self.regexp is not None:
            return self.regexp
        assert self.exact is not None  # noqa: S101 (one of the two is always set)
        return "^" + re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", self.exact) + "$"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSigner:
    """One allowed signer, as engines see it."""

    identity: Match
    issuer: Match
    github: Mapping[PolicyField, str] = field(default_factory=dict)
    glob: str | None = None  # the glob the identity regexp was made from, if any

    def claim(self, name: PolicyField) -> str | None:
        return self.github.get(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportGroup:
    """Repositories (normalised globs) and the signers any one of which may sign them."""

    name: str
    images: tuple[str, ...]
    signers: tuple[ExportSigner, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    engine: Engine
    groups: tuple[ExportGroup, ...]
    format: str  # both | bundle | legacy: what the signer writes
    trust: ExportTrust
    source: str  # where the policy came from, for the header comment


def _signer(signer: Signer) -> ExportSigner:
    identity = (
        Match(exact=signer.identity) if signer.identity else Match(regexp=signer.identity_regexp)
    )
    issuer = Match(exact=signer.issuer) if signer.issuer else Match(regexp=signer.issuer_regexp)
    return ExportSigner(
        identity=identity, issuer=issuer, github=dict(signer.github), glob=signer.identity_glob
    )


def _name(images: Sequence[str], taken: set[str]) -> str:
    path = images[0].split("/", 1)[1] if "/" in images[0] else images[0]
    base = re.sub(r"[^a-z0-9]+", "-", path.lower().replace("*", "")).strip("-")[:40] or "images"
    name, n = f"shipsign-{base}", 2
    while name in taken:
        name, n = f"shipsign-{base}-{n}", n + 1
    taken.add(name)
    return name


def _covers(entry_globs: Sequence[str], wanted: str) -> bool:
    # A requested glob is covered when one of the entry's globs matches it as text.
    return wanted in entry_globs or any(
        re.fullmatch(glob_to_regexp(g)[1:-1], wanted) for g in entry_globs
    )


def groups_from_config(config: ShipsignConfig, images: Sequence[str]) -> tuple[ExportGroup, ...]:
    """One group per set of `[[policy]]` entries naming the same globs; with `images`, only the
    groups covering them, exported for exactly those repositories."""
    taken: set[str] = set()
    groups: list[ExportGroup] = []
    wanted = [repository_glob(i) for i in images]
    for entries in config.groups():
        globs = entries[0].images
        selected = tuple(w for w in wanted if _covers(globs, w)) if wanted else globs
        if not selected:
            continue
        name = next((e.name for e in entries if e.name), None) or _name(selected, taken)
        signers = tuple(_signer(e.signer) for e in entries)
        groups.append(ExportGroup(name=name, images=selected, signers=signers))
    missing = [w for w in wanted if not any(w in g.images for g in groups)]
    if missing or not groups:
        raise InputError(
            f"no [[policy]] in {config.path} covers "
            + (", ".join(missing) if missing else "anything"),
            where=str(config.path),
            expected="[[policy]] entries whose `images` globs cover the images to export",
        )
    return tuple(groups)


def _flag_match(fields: Mapping[str, str | None], exact: PolicyField, regexp: PolicyField) -> Match:
    flag, rflag = policy_option(exact).flag, policy_option(regexp).flag
    if fields.get(exact.value):
        return Match(exact=fields[exact.value])
    pattern = fields.get(regexp.value)
    if not pattern:
        raise InputError(
            f"an exported policy needs {flag} or {rflag}",
            hint="every engine matches both the signer identity and its OIDC issuer",
        )
    problem = re2_problem(pattern)
    if problem is not None:
        raise InputError(f"{rflag}: {problem}", found=pattern)
    # Our flags match the whole value, so anchoring keeps their meaning for unanchored engines.
    regexp_text = anchored(pattern)
    for issue in pattern_problems(regexp_text, release="refs/tags" in regexp_text):
        raise InputError(f"{rflag}: {issue.what}", found=pattern, hint=issue.hint)
    return Match(regexp=regexp_text)


def groups_from_flags(
    fields: Mapping[str, str | None], images: Sequence[str]
) -> tuple[ExportGroup, ...]:
    """The one-signer policy the identity flags describe, for `images` (required)."""
    if not images:
        raise InputError(
            "with identity flags, name the images the policy covers",
            expected="shipsign policy --engine E --certificate-identity ... IMAGE-GLOB...",
        )
    F = PolicyField
    github = {
        f: str(fields[f.value])
        for f in F
        if f.value.startswith(("github_", "runner_")) and fields.get(f.value)
    }
    signer = ExportSigner(
        identity=_flag_match(fields, F.IDENTITY, F.IDENTITY_REGEXP),
        issuer=_flag_match(fields, F.ISSUER, F.ISSUER_REGEXP),
        github=github,
    )
    globs = tuple(repository_glob(i) for i in images)
    return (ExportGroup(name=_name(globs, set()), images=globs, signers=(signer,)),)


@dataclass
class Output:
    """What an engine writer produces: documents, or script text; and notes for stderr."""

    documents: list[Document] = field(default_factory=list)
    text: str | None = None


def header(request: ExportRequest, *lines: str) -> tuple[str, ...]:
    """The comment block every export starts with."""
    return (
        f"Generated by `shipsign policy --engine {request.engine.value}` from {request.source}.",
        f"Signatures written: {request.format}; trust: {request.trust.source}.",
        *lines,
    )


def engine_image(glob: str, *, docker_hub: str = "docker.io/", slash_star: bool = False) -> str:
    """A normalised repository glob in an engine's spelling: Docker Hub's host, and `**` as
    `*` for engines whose `*` already crosses `/` (`slash_star`)."""
    text = docker_hub + glob[len(DOCKER_HUB) :] if glob.startswith(DOCKER_HUB) else glob
    return text.replace("**", "*") if slash_star else text


def image_patterns(glob: str, **spelling: bool | str) -> list[str]:
    """`REPO:*` and `REPO@*`: a bare repository glob matches no tagged or pinned image, and
    `REPO*` would also match `REPO-evil`."""
    base = engine_image(glob, **spelling)  # type: ignore[arg-type]
    return [f"{base}:*", f"{base}@*"]


def unexpressed(signer: ExportSigner, supported: Sequence[PolicyField]) -> list[str]:
    """The signer's GitHub claims the engine cannot check, as policy-file keys."""
    return [
        policy_option(f).key
        for f in signer.github
        if f not in supported and not _implied(signer, f)
    ]


def _implied(signer: ExportSigner, name: PolicyField) -> bool:
    """True when the identity already pins the claim (the repository in a workflow's SAN)."""
    if name is not PolicyField.GITHUB_REPOSITORY:
        return False
    repo = signer.github[name]
    want = f"https://github.com/{repo.strip('/')}/"
    if signer.identity.exact is not None:
        return signer.identity.exact.startswith(want)
    from shipsign.policy.patterns import literal_prefix

    return literal_prefix(signer.identity.regexp or "").startswith(want)


def dropped_claims_comment(group: ExportGroup, supported: Sequence[PolicyField]) -> list[str]:
    """WARNING lines for claims the engine cannot check, naming each signer."""
    lines = []
    for n, signer in enumerate(group.signers, start=1):
        missing = unexpressed(signer, supported)
        if missing:
            lines.append(
                f"WARNING: signer {n} of {group.name}: this engine cannot check "
                + ", ".join(missing)
                + "; it admits any certificate with the same identity and issuer."
            )
            if PolicyField.GITHUB_REPOSITORY in signer.github and any(
                m == "github.repository" for m in missing
            ):
                lines.append(
                    "  A reusable workflow's identity names the called workflow, so every "
                    "repository that calls it passes here; use kyverno-clusterpolicy, cosign "
                    "or gh to bind the caller repository."
                )
    return lines
