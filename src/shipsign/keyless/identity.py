"""The OIDC identity token shipsign signs with: given explicitly, or found in the CI environment
by `id` (GitHub Actions, GitLab, Buildkite, CircleCI, Google Cloud). Reads what shipsign reports
(identity, issuer, expiry) from the claims without verifying the token: Fulcio does that.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from shipsign.errors import InputError, UnreachableError
from shipsign.secret import Secret

if TYPE_CHECKING:
    import sigstore.oidc

__all__ = [
    "AUDIENCE",
    "GITHUB_ISSUER",
    "IdentityToken",
    "fetch_ambient_token",
    "parse_identity_token",
    "resolve_identity_token",
]

AUDIENCE = "sigstore"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# Issuers whose certificates carry the `email` claim as SAN (Fulcio's email identities).
_EMAIL_ISSUERS = frozenset(
    {
        "https://accounts.google.com",
        "https://oauth2.sigstore.dev/auth",
        "https://oauth2.sigstage.dev/auth",
    }
)
# The CI providers of Fulcio's public-good config (config/identity/config.yaml, type
# ci-provider) whose SAN is not `sub`: issuers, and `*` segments of its meta-issuers.
_GITHUB_ENTERPRISE = re.compile(re.escape(GITHUB_ISSUER) + r"/[-_a-zA-Z0-9]+")
_GITLAB_ISSUERS = frozenset(
    {
        "https://gitlab.com",
        "https://dev.gitlab.org",
        "https://ops.gitlab.net",
        "https://gitlab.archlinux.org",
    }
)
_BUILDKITE_ISSUER = "https://agent.buildkite.com"
_CIRCLECI = re.compile(r"https://oidc\.circleci\.com(/org/[-_a-zA-Z0-9]+)?")
# What `id.detect_credential` looks at, in its order (id/_internal/oidc/ambient.py).
_AMBIENT_VARIABLES = (
    "GITHUB_ACTIONS with ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "BUILDKITE",
    "GITLAB_CI with SIGSTORE_ID_TOKEN",
    "CIRCLECI",
)
# `id` reports a timeout or a failed token request only in its message.
_TRANSIENT = re.compile(r"timed out|\(code=(5\d\d|429)\b")


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityToken:
    """An OIDC token and what its claims say; the token itself prints as `***`.

    `identity` is the SAN Fulcio is expected to certify (for GitHub Actions the workflow
    identity URI, not the `sub` claim; see `_certificate_identity`); `source` says where the
    token came from, for messages.
    """

    token: Secret
    issuer: str
    identity: str
    subject: str
    expires: datetime
    source: str

    def to_sigstore(self) -> sigstore.oidc.IdentityToken:
        """Return sigstore's token object, for `SigningContext.signer`."""
        from sigstore.oidc import IdentityError
        from sigstore.oidc import IdentityToken as SigstoreToken

        try:
            return SigstoreToken(self.token.reveal())
        except IdentityError as exc:
            raise InputError(
                "sigstore refused the identity token", where=self.source, found=str(exc)
            ) from exc


def _claims(raw: str, source: str) -> dict[str, Any]:
    parts = raw.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three segments")
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise InputError(
            "the identity token is not a JWT",
            where=source,
            expected="header.payload.signature, base64url-encoded",
            found=f"{len(parts)} dot-separated part(s) that do not decode as a JWT",
        ) from exc
    if not isinstance(claims, dict):
        raise InputError("the identity token's payload is not a JSON object", where=source)
    return claims


def _string_claim(claims: dict[str, Any], name: str, source: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InputError(f"the identity token has no {name!r} claim", where=source)
    return value


def _certificate_identity(claims: dict[str, Any], issuer: str, source: str) -> str:
    """The SAN Fulcio will put in the certificate for these claims, by the issuer's template
    in Fulcio's public-good config (a claim of the template's name wins over its default).

    GitHub Actions: `{url}/{job_workflow_ref}` (url https://github.com); GitLab CI:
    `https://{ci_config_ref_uri}`; Buildkite: `{url}/{organization_slug}/{pipeline_slug}`
    (url https://buildkite.com); CircleCI: `{api_url}/projects/{project-id}/pipeline-
    definitions/{pipeline-definition-id}` (api_url https://circleci.com/api/v2, claims under
    `oidc.circleci.com/`); email issuers: `email`. Any other issuer, or a token without the
    template's claims: `sub`. That guess may be wrong (a private Fulcio may map an issuer
    differently); then "already signed by this identity" never matches and a rerun signs
    again, which is safe: it adds a signature, it never skips one that is missing.
    """
    if issuer == GITHUB_ISSUER or _GITHUB_ENTERPRISE.fullmatch(issuer):
        workflow = _string_claim(claims, "job_workflow_ref", source)
        return f"{_template_value(claims, 'url') or 'https://github.com'}/{workflow}"
    if issuer in _EMAIL_ISSUERS:
        return _string_claim(claims, "email", source)
    sub = _string_claim(claims, "sub", source)
    if issuer in _GITLAB_ISSUERS:
        parts = _template_values(claims, "ci_config_ref_uri")
        return f"https://{parts[0]}" if parts else sub
    if issuer == _BUILDKITE_ISSUER:
        url = _template_value(claims, "url") or "https://buildkite.com"
        parts = _template_values(claims, "organization_slug", "pipeline_slug")
        return "/".join((url, *parts)) if parts else sub
    if _CIRCLECI.fullmatch(issuer):
        api = _template_value(claims, "api_url") or "https://circleci.com/api/v2"
        names = ("oidc.circleci.com/project-id", "oidc.circleci.com/pipeline-definition-id")
        parts = _template_values(claims, *names)
        return f"{api}/projects/{parts[0]}/pipeline-definitions/{parts[1]}" if parts else sub
    return sub


def _template_value(claims: dict[str, Any], name: str) -> str | None:
    """A claim as Fulcio's templates see it: a string, or a number written without a
    fraction when it has none; None when absent or of another type."""
    value = claims.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return value if isinstance(value, str) and value else None


def _template_values(claims: dict[str, Any], *names: str) -> tuple[str, ...]:
    """Every named claim (`_template_value`), or () when one is missing."""
    values = [_template_value(claims, name) for name in names]
    return tuple(v for v in values if v is not None) if None not in values else ()


def parse_identity_token(
    raw: str | Secret, *, now: datetime, source: str = "given token", audience: str = AUDIENCE
) -> IdentityToken:
    """Read an OIDC token's claims and check it is for `audience` and valid at `now`."""
    token = raw if isinstance(raw, Secret) else Secret(raw.strip())
    claims = _claims(token.reveal(), source)
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise InputError(
            "the identity token is for another audience",
            where=source,
            expected=f"aud {audience!r}",
            found=f"aud {aud!r}",
            hint=f"request the token with audience={audience}",
        )
    issuer = _string_claim(claims, "iss", source)
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise InputError("the identity token has no 'exp' claim", where=source)
    expires = datetime.fromtimestamp(exp, tz=timezone.utc)
    if expires <= now:
        raise InputError(
            "the identity token has expired",
            where=source,
            expected=f"valid at {now.isoformat(timespec='seconds')}",
            found=f"expired at {expires.isoformat(timespec='seconds')}",
            hint="request a fresh token right before signing",
        )
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and datetime.fromtimestamp(nbf, tz=timezone.utc) > now:
        raise InputError("the identity token is not valid yet", where=source, found=f"nbf {nbf}")
    return IdentityToken(
        token=token,
        issuer=issuer,
        identity=_certificate_identity(claims, issuer, source),
        subject=str(claims.get("sub", "")),
        expires=expires,
        source=source,
    )


def fetch_ambient_token(audience: str = AUDIENCE) -> Secret | None:
    """Ask the CI environment for a token via `id`; None when no CI provider is detected.

    Network: the provider's token endpoint. Raises `InputError` when the provider is there but
    will not give a token (e.g. no `id-token: write`), `UnreachableError` when its token
    service times out or fails with 5xx/429.
    """
    import id as ambient

    try:
        raw = ambient.detect_credential(audience)
    except ambient.GitHubOidcPermissionCredentialError as exc:
        raise InputError(
            "this GitHub Actions job may not request an OIDC token",
            where="GitHub Actions",
            found=str(exc),
            hint="add `permissions: id-token: write` to the job (or the workflow)",
        ) from exc
    except ambient.IdentityError as exc:
        error = UnreachableError if _TRANSIENT.search(str(exc)) else InputError
        raise error(
            "could not get an OIDC token from the CI environment",
            where="ambient credential",
            found=str(exc),
            hint="re-run the job, or pass an identity token explicitly",
        ) from exc
    return None if raw is None else Secret(raw)


def resolve_identity_token(
    explicit: str | Secret | None, *, now: datetime, audience: str = AUDIENCE
) -> IdentityToken:
    """Return the explicit token if given, else the CI environment's; parsed and checked.

    Network only without `explicit`. Raises `InputError` when no token can be found.
    """
    if explicit is not None and (explicit.reveal() if isinstance(explicit, Secret) else explicit):
        return parse_identity_token(explicit, now=now, audience=audience)
    found = fetch_ambient_token(audience)
    if found is None:
        raise InputError(
            "no OIDC identity token found",
            expected="an explicit identity token, or a CI environment that provides one",
            found="none of: " + "; ".join(_AMBIENT_VARIABLES),
            hint="in GitHub Actions give the job `permissions: id-token: write`",
        )
    return parse_identity_token(found, now=now, source="ambient credential", audience=audience)
