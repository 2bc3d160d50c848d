"""The GitHub Actions OIDC token endpoint, as a runner exposes it to a job.

`GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=A` with `Authorization: bearer <request token>`
answers `{"value": "<JWT>"}`, an RS256 token carrying GitHub's claims, signed with a key made at
start. `POST /__mint` ({"audience": A, "claims": {overrides; null drops a claim}}) mints one
directly, for tests.
Run it with `python -m stack.oidc --port N --workdir D` (tests/ on sys.path); it writes
D/github_oidc.json (URL, request token, issuer, expected SAN) before it listens.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["GITHUB_ISSUER", "TOKEN_PATH", "WorkflowClaims", "main"]

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# Shaped like the runner's URL, query string included: clients must merge `audience` into it.
TOKEN_PATH = "/_apis/distributedtask/hubs/Actions/plans/{plan}/jobs/{job}/idtoken"
TOKEN_QUERY = "api-version=2.0"


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowClaims:
    """The job the tokens describe; `claims()` renders them as GitHub does."""

    owner: str = "acme"
    repo: str = "app"
    workflow_file: str = "release.yml"
    workflow_name: str = "Release"
    ref: str = "refs/tags/v1.2.3"
    sha: str = "4b6c1f7e2d9a8b3c5e0f1a2b3c4d5e6f7a8b9c0d"
    event_name: str = "push"
    runner_environment: str = "github-hosted"
    repository_visibility: str = "public"
    repository_id: str = "100200300"
    repository_owner_id: str = "4005006"
    run_id: str = "9876543210"
    run_attempt: str = "1"
    actor: str = "octocat"
    environment: str = ""
    lifetime: int = 600
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def workflow_ref(self) -> str:
        return f"{self.repository}/.github/workflows/{self.workflow_file}@{self.ref}"

    @property
    def san(self) -> str:
        """The certificate identity Fulcio derives: https://github.com/{job_workflow_ref}."""
        return f"https://github.com/{self.workflow_ref}"

    @property
    def subject(self) -> str:
        if self.environment:
            return f"repo:{self.repository}:environment:{self.environment}"
        return f"repo:{self.repository}:ref:{self.ref}"

    def claims(self, audience: str, now: int) -> dict[str, Any]:
        """Return the token claims for `audience`, issued at `now` (seconds since the epoch)."""
        ref_type = "tag" if self.ref.startswith("refs/tags/") else "branch"
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "sub": self.subject,
            "aud": audience,
            "ref": self.ref,
            "ref_type": ref_type,
            "ref_protected": "false",
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": self.owner,
            "repository_owner_id": self.repository_owner_id,
            "repository_id": self.repository_id,
            "repository_visibility": self.repository_visibility,
            "run_id": self.run_id,
            "run_number": "42",
            "run_attempt": self.run_attempt,
            "actor": self.actor,
            "actor_id": "583231",
            "workflow": self.workflow_name,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.workflow_ref,
            "job_workflow_sha": self.sha,
            "event_name": self.event_name,
            "head_ref": "",
            "base_ref": "",
            "runner_environment": self.runner_environment,
            "iss": GITHUB_ISSUER,
            "nbf": now - 5,
            "iat": now,
            "exp": now + self.lifetime,
        }
        if self.environment:
            claims["environment"] = self.environment
        claims.update(self.extra)
        return claims


class _Issuer:
    """Holds the signing key; mints tokens."""

    def __init__(self, workflow: WorkflowClaims) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.workflow = workflow
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self.jwk = {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64url(numbers.e.to_bytes(3, "big")),
        }
        self.jwk["kid"] = hashlib.sha256(json.dumps(self.jwk, sort_keys=True).encode()).hexdigest()

    def mint(self, audience: str, overrides: dict[str, Any] | None = None) -> str:
        import jwt

        claims = self.workflow.claims(audience, int(time.time()))
        for name, value in (overrides or {}).items():
            # None removes a claim, to test tokens that lack one.
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.jwk["kid"]})


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _handler(issuer: _Issuer, token_path: str, request_token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request log: the server log stays readable."""

        def _send(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/jwks":
                self._send(200, {"keys": [issuer.jwk]})
                return
            if url.path != token_path:
                self._send(404, {"message": f"no route {url.path}"})
                return
            scheme, _, given = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not given:
                self._send(401, {"message": "missing bearer request token"})
                return
            if not secrets.compare_digest(given.strip(), request_token):
                self._send(403, {"message": "request token refused"})
                return
            query = parse_qs(url.query)
            # Without an audience GitHub uses the repository owner's URL.
            audience = query.get("audience", [f"https://github.com/{issuer.workflow.owner}"])[0]
            self._send(200, {"count": 1, "value": issuer.mint(audience)})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/__mint":
                self._send(404, {"message": f"no route {self.path}"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            spec = json.loads(self.rfile.read(length) or b"{}")
            token = issuer.mint(spec.get("audience", "sigstore"), spec.get("claims"))
            self._send(200, {"value": token})

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the token endpoint until killed. The request token comes from $OIDC_REQUEST_TOKEN."""
    parser = argparse.ArgumentParser(prog="python -m stack.oidc", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--claims", default="{}", help="JSON object of WorkflowClaims fields")
    args = parser.parse_args(argv)
    workflow = WorkflowClaims(**json.loads(args.claims))
    request_token = os.environ.get("OIDC_REQUEST_TOKEN") or secrets.token_urlsafe(32)
    issuer = _Issuer(workflow)
    token_path = TOKEN_PATH.format(plan=uuid.uuid4(), job=uuid.uuid4())
    info = {
        "url": f"http://127.0.0.1:{args.port}",
        "request_url": f"http://127.0.0.1:{args.port}{token_path}?{TOKEN_QUERY}",
        "request_token": request_token,
        "issuer": GITHUB_ISSUER,
        "san": workflow.san,
        "claims": asdict(workflow),
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    tmp = args.workdir / "github_oidc.json.tmp"
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(args.workdir / "github_oidc.json")
    # Written before binding: whoever can connect can also read the file.
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), _handler(issuer, token_path, request_token)
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
