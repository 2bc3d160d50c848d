"""The authenticated exchange with one registry: the 401 → token → retry dance around the
transport, and registry answers turned into typed errors that name what failed and where.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode, urlsplit

from shipsign.errors import AuthError, InputError, RegistryError
from shipsign.oci.auth import Authenticator, TokenRequest, parse_token_response, repository_scope
from shipsign.oci.reference import Digest, Reference
from shipsign.oci.transport import (
    ERROR_MAX_BYTES,
    Call,
    Reply,
    Transport,
    origin,
    parse_registry_errors,
    url_path,
)

__all__ = ["Exchange"]


class Exchange:
    """Send authorised requests to one registry and build its errors. Thread-safe.

    `Authorization` goes only to the registry's own host (upload locations and redirects may
    point elsewhere); a 401 is answered once with the challenge's scheme, then refused.
    """

    def __init__(
        self, registry: str, *, base_url: str, transport: Transport, auth: Authenticator
    ) -> None:
        self.registry = registry
        self.base_url = base_url
        self._origin = origin(base_url)
        self._transport = transport
        self._auth = auth

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()

    def request(
        self,
        call: Call,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int = ERROR_MAX_BYTES,
        push: bool = False,
        follow_redirects: bool = True,
        retry: bool = True,
    ) -> Reply:
        """Send with the right `Authorization`; answer one 401; raise `AuthError` on 401/403.

        `push` asks for the `pull,push` scope on `call`'s repository; `retry=False` sends
        without the transport's retries (`Transport.send`).
        """
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        ours = origin(url) == self._origin  # upload locations may point elsewhere
        scope = repository_scope(call.repository[len(self.registry) + 1 :], push=push)
        send_headers = dict(headers or {})
        if ours:
            value = self._authorization(call, scope)
            if value is not None:
                send_headers["Authorization"] = value

        def send() -> Reply:
            return self._transport.send(
                call,
                method,
                url,
                headers=send_headers,
                body=body,
                max_bytes=max_bytes,
                follow_redirects=follow_redirects,
                retry=retry,
            )

        reply = send()
        # Only the registry's own challenge is answered: a 401 from a host it redirected us to
        # (blob storage) must not make us send its credentials to a realm that host names.
        if reply.status == 401 and ours and origin(reply.url) == self._origin:
            try:
                request = self._auth.challenge(reply.headers.get("www-authenticate"), scope)
            except InputError as exc:  # the registry's header is malformed: not our input
                what = f"the registry sent a malformed challenge: {exc.what}"
                detail = f"WWW-Authenticate {exc.found}"
                expected = "a Basic or Bearer challenge (RFC 7235 syntax)"
                raise self.error(
                    call, method, url, reply, what, expected=expected, detail=detail
                ) from None
            if request is not None:
                self._fetch_token(call, request)
            value = self._auth.header(scope, now=time.monotonic())
            if value is not None:
                send_headers["Authorization"] = value
            reply = send()
        if reply.status in (401, 403):
            raise self._refused(call, method, url, reply, scope)
        return reply

    def _authorization(self, call: Call, scope: str) -> str | None:
        value = self._auth.header(scope, now=time.monotonic())
        if value is None:
            pending = self._auth.pending_token(scope)
            if pending is not None:
                self._fetch_token(call, pending)
                value = self._auth.header(scope, now=time.monotonic())
        return value

    def _fetch_token(self, call: Call, request: TokenRequest) -> None:
        params: list[tuple[str, str]] = []
        if request.service:
            params.append(("service", request.service))
        headers: dict[str, str] = {}
        if request.refresh_token is not None:
            form = [*params, ("scope", " ".join(request.scopes)), ("client_id", "shipsign")]
            form += [
                ("grant_type", "refresh_token"),
                ("refresh_token", request.refresh_token.reveal()),
            ]
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            method, url, body = "POST", request.url, urlencode(form).encode()
        else:
            params += [("scope", s) for s in request.scopes]
            sep = "&" if urlsplit(request.url).query else "?"
            method, url, body = "GET", request.url + sep + urlencode(params), None
            if request.basic is not None:
                headers["Authorization"] = request.basic.reveal()
        reply = self._transport.send(call, method, url, headers=headers, body=body)
        scope = " ".join(request.scopes)
        if reply.status != 200:
            raise self._refused(call, method, url, reply, scope, token=True)
        try:
            token = parse_token_response(reply.body, now=time.monotonic())
        except InputError as exc:
            what = f"bad token response: {exc.what}"
            raise self.error(call, method, url, reply, what) from None
        self._auth.store(request, token)

    def expect(
        self, call: Call, method: str, url: str, reply: Reply, statuses: Iterable[int]
    ) -> None:
        """Raise `RegistryError` unless the reply has one of `statuses`."""
        wanted = tuple(statuses)
        if reply.status not in wanted:
            raise self.error(
                call,
                method,
                url,
                reply,
                f"unexpected answer to {call.operation}",
                expected=" or ".join(str(s) for s in wanted),
            )

    def error(
        self,
        call: Call,
        method: str,
        url: str,
        reply: Reply,
        what: str,
        *,
        expected: str = "",
        detail: str = "",
    ) -> RegistryError:
        """A `RegistryError` for `reply`, with the registry's error codes and messages."""
        codes = parse_registry_errors(reply.body)
        return RegistryError(
            f"cannot {call.operation} {call.repository}: {what}",
            registry=self.registry,
            repository=call.repository,
            operation=call.operation,
            status=reply.status,
            codes=tuple(c for c, _ in codes),
            where=f"{method} {url_path(url)}",
            expected=expected,
            found=_found(reply.status, codes) + (f"; {detail}" if detail else ""),
        )

    def _refused(
        self, call: Call, method: str, url: str, reply: Reply, scope: str, *, token: bool = False
    ) -> AuthError:
        codes = parse_registry_errors(reply.body)
        login = "as anonymous" if not self._auth.has_credential else "with the given login"
        who = f"token service {urlsplit(url).netloc}" if token else f"registry {self.registry}"
        hint = (
            "check the login for this registry and that it may "
            + ("push to" if "push" in scope else "pull from")
            + " this repository"
        )
        if not token and origin(reply.url) != self._origin:
            # A redirect or upload location on another host: our credentials were not sent.
            who = f"{urlsplit(reply.url).netloc} (where registry {self.registry} sent us)"
            login = "without credentials, which only go to the registry itself"
            hint = "the registry hands this request to a host that wants a login; ask its operator"
        return AuthError(
            f"{who} refused access to {call.repository} ({call.operation}) {login}",
            scope=scope,
            registry=self.registry,
            repository=call.repository,
            operation=call.operation,
            status=reply.status,
            codes=tuple(c for c, _ in codes),
            where=f"{method} {url_path(reply.url)}",
            found=_found(reply.status, codes) + f"; scope {scope}",
            hint=hint,
        )

    def mismatch(
        self, call: Call, method: str, url: str, want: Digest, got: Digest
    ) -> RegistryError:
        """The error for content whose digest is not the one asked for."""
        return RegistryError(
            f"cannot {call.operation} {call.repository}: the content does not match its digest",
            registry=self.registry,
            repository=call.repository,
            operation=call.operation,
            where=f"{method} {url_path(url)}",
            expected=str(want),
            found=str(got),
            hint="the registry (or something between us) altered the content; do not trust it",
        )

    def header_digest(self, call: Call, method: str, url: str, value: str) -> Digest:
        """Parse a `Docker-Content-Digest` header or raise `RegistryError`."""
        try:
            return Digest.parse(value.strip())
        except InputError:
            raise RegistryError(
                f"cannot {call.operation} {call.repository}: invalid Docker-Content-Digest",
                registry=self.registry,
                repository=call.repository,
                operation=call.operation,
                where=f"{method} {url_path(url)}",
                found=value[:100],
            ) from None

    def not_found(self, call: Call, ref: Reference, method: str, url: str) -> InputError:
        """The error for an image that does not exist: bad input, not an outage."""
        return InputError(
            f"image not found: {ref}",
            where=f"{method} {url_path(url)} on {self.registry}",
            expected="a manifest",
            found="404 Not Found",
            hint="check the repository, tag or digest",
        )


def _found(status: int, codes: tuple[tuple[str, str], ...]) -> str:
    text = str(status)
    for code, message in list(dict.fromkeys(codes))[:3]:
        text += f' {code} "{message}"' if message else f" {code}"
    return text
