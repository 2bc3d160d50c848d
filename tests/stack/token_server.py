"""A small token server for distribution's bearer token auth (the "Docker token spec").

Run as a script (`python token_server.py --port ...`), one process per token registry. It answers
`GET /token?service=S&scope=repository:NAME:ACTIONS` (scope may repeat): a known user with the right
HTTP Basic password gets every action it asks for; anonymous callers get `pull` on repositories
under `public/` and nothing else (a token with empty access, as the spec says); a wrong password
gets 401. Tokens are ES256 JWTs whose `x5c` header carries the self-signed certificate that the
registry trusts through `auth.token.rootcertbundle`. Every request is appended to a JSON-lines log
before the response is sent, so tests can count token requests.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PUBLIC_PREFIX = "public/"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenIssuer:
    """Signs access tokens; holds the key, certificate and token lifetime."""

    def __init__(self, *, key_pem: bytes, cert_pem: bytes, issuer: str, expires_in: int) -> None:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("token signing key must be an EC P-256 key")
        self._key = key
        cert = x509.load_pem_x509_certificate(cert_pem)
        self._x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.issuer = issuer
        self.expires_in = expires_in

    def issue(self, *, subject: str, audience: str, access: list[dict[str, Any]]) -> str:
        """Return a compact JWS (ES256) carrying `access` for `audience`."""
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": self._x5c}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": now + self.expires_in,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """Split `type:name:actions` (the name may contain colons); None when malformed."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and kind and name):
        return None
    return kind, name, [a for a in actions.split(",") if a]


def grant(user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
    """What a caller gets: a known user everything asked, anonymous pull on public/ repos."""
    access: list[dict[str, Any]] = []
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None:
            continue
        kind, name, actions = parsed
        if user is None:
            public = kind == "repository" and name.startswith(PUBLIC_PREFIX)
            actions = [a for a in actions if a == "pull"] if public else []
        if actions:
            access.append({"type": kind, "name": name, "actions": actions})
    return access


class _State:
    def __init__(self, issuer: TokenIssuer, service: str, users: dict[str, str], log: Path):
        self.issuer = issuer
        self.service = service
        self.users = users
        self.log = log
        self.lock = threading.Lock()  # guards appends to `log`

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock, self.log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()


class _Handler(BaseHTTPRequestHandler):
    server_version = "shipsign-token-server/1"
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass built in main()

    def log_message(self, format: str, *args: Any) -> None:
        return  # requests go to the JSON-lines log instead

    def _credentials(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        return user, password

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _answer(
        self, path: str, service: str, scopes: list[str]
    ) -> tuple[int, dict[str, Any], dict[str, str], list[dict[str, Any]]]:
        """Decide (status, body, headers, granted access) for one token request."""
        creds = self._credentials()
        if path != "/token":
            return 404, {"details": "not found"}, {}, []
        if service != self.state.service:
            return 400, {"details": f"unknown service {service!r}"}, {}, []
        if creds is not None and self.state.users.get(creds[0]) != creds[1]:
            challenge = {"WWW-Authenticate": 'Basic realm="shipsign-test-token-server"'}
            return 401, {"details": "incorrect username or password"}, challenge, []
        user = creds[0] if creds else None
        access = grant(user, scopes)
        token = self.state.issuer.issue(subject=user or "", audience=service, access=access)
        issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": self.state.issuer.expires_in,
            "issued_at": issued,
        }
        return 200, body, {}, access

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        service = query.get("service", [""])[0]
        status, body, headers, access = self._answer(url.path, service, scopes)
        creds = self._credentials()
        self.state.record(
            {
                "path": url.path,
                "service": service,
                "scopes": scopes,
                "user": creds[0] if creds else None,
                "status": status,
                "granted": access,
            }
        )
        self._send(status, body, headers)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--users", type=Path, required=True, help="JSON {user: password}")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--expires-in", type=int, default=300)
    args = parser.parse_args(argv)
    issuer = TokenIssuer(
        key_pem=args.key.read_bytes(),
        cert_pem=args.cert.read_bytes(),
        issuer=args.issuer,
        expires_in=args.expires_in,
    )
    users = json.loads(args.users.read_text())
    state = _State(issuer, args.service, users, args.log)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
