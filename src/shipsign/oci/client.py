"""The distribution API for one registry (`RegistryClient`) and a pool of them (`Registries`).

Resolve, fetch and push manifests and blobs, list referrers through the API. Auth and error
building are `exchange.py`'s; the referrers tag schema is `referrers.py`'s.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlencode, urljoin, urlsplit

from shipsign.errors import AuthError, InputError, RegistryError
from shipsign.oci.auth import Authenticator
from shipsign.oci.credentials import Keychain, default_keychain, registry_key
from shipsign.oci.exchange import Exchange
from shipsign.oci.media import (
    MANIFEST_ACCEPT,
    MANIFEST_MAX_BYTES,
    OCI_INDEX,
    Descriptor,
    Index,
    Manifest,
    decode_manifest,
)
from shipsign.oci.reference import Digest, Reference, Repository, api_host
from shipsign.oci.transport import MAX_IN_FLIGHT, Call, ResponseHook, Transport, origin
from shipsign.retry import RetryPolicy

__all__ = ["Registries", "RegistryClient"]

_ACCEPT_MANIFESTS = ", ".join(MANIFEST_ACCEPT)
_REFERRERS_PAGES = 50


class RegistryClient:
    """Talk to one registry. Thread-safe; one pool of connections inside.

    Every method may raise `RegistryError` (unreachable after retries, unexpected status,
    digest mismatch) or `AuthError` (credentials or scope refused).
    """

    def __init__(
        self,
        registry: str,
        *,
        keychain: Keychain,
        insecure: bool = False,
        verify: bool | str = True,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        response_hook: ResponseHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.registry = registry
        self.base_url = f"{'http' if insecure else 'https'}://{api_host(registry)}"
        self._origin = origin(self.base_url)
        self._retry = retry or RetryPolicy()
        transport = Transport(
            verify=verify,
            timeout=timeout,
            retry=self._retry,
            response_hook=response_hook,
            sleep=sleep,
            max_in_flight=max_in_flight,
        )
        auth = Authenticator(registry, keychain.credential_for, insecure=insecure)
        self._exchange = Exchange(registry, base_url=self.base_url, transport=transport, auth=auth)
        self._lock = threading.Lock()
        self._referrers_api: bool | None = None  # None: not known yet; guarded by _lock
        # Whether `POST .../blobs/uploads/?digest=` with the body completes an upload in one
        # request (the spec's monolithic upload). None: not known yet; the first upload finds out.
        self._monolithic: bool | None = None
        # Blobs this client has seen in a repository (HEAD 200, or pushed): asked about again,
        # they are there without a request (the empty config of every referrer, for one).
        self._known_blobs: set[tuple[str, Digest]] = set()
        self._probe = threading.Lock()  # held by the one thread that finds out _referrers_api

    def close(self) -> None:
        """Close pooled connections."""
        self._exchange.close()

    # ------------------------------------------------------------------ manifests

    def resolve(self, ref: Reference) -> Descriptor:
        """HEAD the manifest (GET if the registry sends no digest); raise `InputError` if absent."""
        call = self._call("resolve", ref.repository)
        path = f"/v2/{ref.repository.path}/manifests/{ref.identifier}"
        reply = self._exchange.request(call, "HEAD", path, headers={"Accept": _ACCEPT_MANIFESTS})
        digest_header = reply.headers.get("docker-content-digest")
        if reply.status == 200 and digest_header and "content-type" in reply.headers:
            digest = self._exchange.header_digest(call, "HEAD", path, digest_header)
            if ref.digest is not None and digest != ref.digest:
                raise self._exchange.mismatch(call, "HEAD", path, ref.digest, digest)
            size = reply.headers.get("content-length", "")
            if size.isdigit():
                return Descriptor(
                    media_type=reply.headers["content-type"], digest=digest, size=int(size)
                )
        if reply.status == 404:
            raise self._exchange.not_found(call, ref, "HEAD", path)
        found = self.fetch_manifest(ref)
        if found is None:
            raise self._exchange.not_found(call, ref, "GET", path)
        return found.descriptor

    def fetch_manifest(self, ref: Reference) -> Manifest | Index | None:
        """GET a manifest; `None` if absent. By digest, the bytes must hash to it."""
        return self.fetch_manifest_with_etag(ref)[0]

    def fetch_manifest_with_etag(
        self, ref: Reference
    ) -> tuple[Manifest | Index | None, str | None]:
        """`fetch_manifest` plus the `ETag` the registry sent (for `If-Match` on the next PUT)."""
        call = self._call("fetch manifest", ref.repository)
        path = f"/v2/{ref.repository.path}/manifests/{ref.identifier}"
        reply = self._exchange.request(
            call, "GET", path, headers={"Accept": _ACCEPT_MANIFESTS}, max_bytes=MANIFEST_MAX_BYTES
        )
        if reply.status == 404:
            return None, None
        self._exchange.expect(call, "GET", path, reply, (200,))
        wanted = ref.digest
        header = reply.headers.get("docker-content-digest")
        if wanted is None and header and header.startswith("sha256:"):
            wanted = self._exchange.header_digest(call, "GET", path, header)
        if wanted is not None and not wanted.matches(reply.body):
            raise self._exchange.mismatch(call, "GET", path, wanted, Digest.of(reply.body))
        try:
            manifest = decode_manifest(reply.body, reply.headers.get("content-type"))
        except InputError as exc:
            what = f"registry sent an invalid manifest: {exc.what}"
            raise self._exchange.error(call, "GET", path, reply, what) from None
        return manifest, reply.headers.get("etag")

    def push_manifest(
        self,
        repo: Repository,
        manifest: Manifest | Index,
        *,
        tag: str | None = None,
        if_match: str | None = None,
        once: bool = False,
    ) -> Digest:
        """PUT `manifest`'s exact bytes by tag (or by digest when `tag` is None).

        With `if_match` the registry may refuse with 412 (`RegistryError.status == 412`).
        `once` makes a single attempt, for the read-modify-write of a shared tag: the same PUT
        sent again after a wait may drop what other writers confirmed meanwhile, so the caller
        repeats its whole cycle instead (`write_again_in` says when).
        """
        if tag is not None:
            Reference.parse(f"{repo.name}:{tag}")  # validates the tag
        call = self._call("push manifest", repo)
        path = f"/v2/{repo.path}/manifests/{tag or manifest.digest}"
        headers = {"Content-Type": manifest.media_type}
        if if_match is not None:
            headers["If-Match"] = if_match
        reply = self._exchange.request(
            call, "PUT", path, headers=headers, body=manifest.raw, push=True, retry=not once
        )
        self._exchange.expect(call, "PUT", path, reply, (200, 201, 202))
        header = reply.headers.get("docker-content-digest")
        stored = self._exchange.header_digest(call, "PUT", path, header) if header else None
        if stored is not None and stored != manifest.digest:
            raise self._exchange.mismatch(call, "PUT", path, manifest.digest, stored)
        return manifest.digest

    def delete_tag(self, repo: Repository, tag: str) -> None:
        """DELETE a tag (not the manifest it names). Many registries refuse: distribution 2.x
        deletes only by digest, and token servers rarely grant `delete`; `RegistryError` then.
        """
        Reference.parse(f"{repo.name}:{tag}")  # validates the tag
        call = self._call("delete tag", repo)
        path = f"/v2/{repo.path}/manifests/{tag}"
        reply = self._exchange.request(call, "DELETE", path, push=True, retry=False)
        self._exchange.expect(call, "DELETE", path, reply, (200, 202, 204))

    def write_again_in(self, exc: RegistryError, attempt: int, spent: float) -> float | None:
        """Seconds to wait before cycle `attempt` (2: the first repeat) of a read-modify-write
        whose single-attempt PUT (`push_manifest(once=True)`) failed with `exc`; None: stop.

        What the transport would have retried is worth another cycle (no answer, or a status
        of the retry policy), within the policy's attempts and deadline (`spent` seconds so
        far), after the registry's `Retry-After` if it sent one.
        """
        if isinstance(exc, AuthError):
            return None
        if exc.status is not None and not self._retry.retryable(exc.status):
            return None
        return self._retry.delay(attempt, exc.retry_after, spent)

    # ------------------------------------------------------------------ blobs

    def blob_exists(self, repo: Repository, digest: Digest) -> bool:
        """HEAD the blob: one request."""
        return self._blob_exists(repo, digest, push=False)

    def _blob_exists(self, repo: Repository, digest: Digest, *, push: bool) -> bool:
        call = self._call("check blob", repo)
        path = f"/v2/{repo.path}/blobs/{digest}"
        # Before a push, ask for the push scope at once: one token request instead of two.
        reply = self._exchange.request(call, "HEAD", path, push=push)
        if reply.status == 404:
            return False
        self._exchange.expect(call, "HEAD", path, reply, (200,))
        self._remember_blob(repo, digest)
        return True

    def _remember_blob(self, repo: Repository, digest: Digest) -> None:
        with self._lock:
            self._known_blobs.add((repo.path, digest))

    def fetch_blob(self, repo: Repository, digest: Digest, *, max_bytes: int) -> bytes | None:
        """GET a blob of at most `max_bytes`; `None` if absent; its bytes must hash to `digest`."""
        call = self._call("fetch blob", repo)
        path = f"/v2/{repo.path}/blobs/{digest}"
        reply = self._exchange.request(call, "GET", path, max_bytes=max_bytes)
        if reply.status == 404:
            return None
        self._exchange.expect(call, "GET", path, reply, (200,))
        if not digest.matches(reply.body):
            raise self._exchange.mismatch(
                call, "GET", path, digest, Digest.of(reply.body, digest.algorithm)
            )
        return reply.body

    def push_blob(
        self,
        repo: Repository,
        data: bytes,
        *,
        mount_from: Repository | None = None,
        check_first: bool = True,
    ) -> Digest:
        """Upload `data` unless the blob exists (then one HEAD and nothing else).

        With `mount_from` (same registry) try a cross-repository mount first; a registry that
        does not mount answers 202 and we upload instead. `check_first=False` skips the HEAD,
        for a blob the caller knows to be new (one holding a fresh signature): uploading a
        blob that is there after all only stores the same bytes again.

        Uploads are monolithic where the registry allows it: one `POST ?digest=` carrying the
        body, answered 201. A registry that ignores the digest (distribution 2.8) answers 202
        with an upload location instead; the body is then sent again with `PUT`, and this
        client remembers to open later uploads with a bare `POST` (no body sent twice).
        """
        digest = Digest.of(data)
        if check_first:
            with self._lock:
                known = (repo.path, digest) in self._known_blobs
            if known or self._blob_exists(repo, digest, push=True):
                return digest
        self._upload(repo, digest, data, mount_from)
        self._remember_blob(repo, digest)
        return digest

    def _upload(
        self, repo: Repository, digest: Digest, data: bytes, mount_from: Repository | None
    ) -> None:
        """Send the blob (or mount it), monolithic when the registry allows it."""
        call = self._call("push blob", repo)
        path = f"/v2/{repo.path}/blobs/uploads/"
        headers = {"Content-Type": "application/octet-stream"}
        whole: bytes | None = None
        if mount_from is not None and mount_from.registry == self.registry:
            path += "?" + urlencode({"mount": str(digest), "from": mount_from.path})
        elif self._monolithic is not False:
            path += "?" + urlencode({"digest": str(digest)})
            whole = data
        reply = self._exchange.request(
            call,
            "POST",
            path,
            headers=headers if whole is not None else None,
            body=whole,
            push=True,
        )
        if whole is not None:
            self._monolithic = reply.status == 201
        if reply.status == 201:
            return  # mounted, or uploaded in one request
        self._exchange.expect(call, "POST", path, reply, (202,))
        location = reply.headers.get("location")
        if not location:
            raise self._exchange.error(
                call, "POST", path, reply, "the registry gave no upload location"
            )
        url = urljoin(self.base_url + path, location)
        url += ("&" if urlsplit(url).query else "?") + urlencode({"digest": str(digest)})
        reply = self._exchange.request(call, "PUT", url, headers=headers, body=data, push=True)
        if reply.status == 404 and self._blob_exists(repo, digest, push=True):
            return  # a retried PUT whose first try landed: the upload is gone, the blob is in
        self._exchange.expect(call, "PUT", url, reply, (201, 204))

    # ------------------------------------------------------------------ referrers API

    def fetch_referrers_api(
        self, repo: Repository, subject: Digest
    ) -> tuple[Descriptor, ...] | None:
        """List referrers through `GET /v2/<name>/referrers/<digest>`; `None` if unsupported.

        Trusted only on 200 with an OCI index content type (formats.md §3.4); anything else
        marks the registry as not serving the API for the rest of this client's life. Until
        that is known, one thread at a time asks (concurrent callers would all probe).
        """
        with self._lock:
            known = self._referrers_api
        if known is None:
            with self._probe:
                with self._lock:
                    known = self._referrers_api
                if known is None:
                    return self._list_referrers(repo, subject)
        return None if known is False else self._list_referrers(repo, subject)

    def _list_referrers(self, repo: Repository, subject: Digest) -> tuple[Descriptor, ...] | None:
        call = self._call("fetch referrers", repo)
        url: str | None = f"/v2/{repo.path}/referrers/{subject}"
        found: list[Descriptor] = []
        pages = 0
        while url is not None and pages < _REFERRERS_PAGES:
            pages += 1
            reply = self._exchange.request(
                call,
                "GET",
                url,
                headers={"Accept": OCI_INDEX},
                max_bytes=MANIFEST_MAX_BYTES,
                follow_redirects=False,
            )
            content_type = reply.headers.get("content-type", "").split(";")[0].strip()
            if reply.status != 200 or content_type != OCI_INDEX:
                with self._lock:
                    self._referrers_api = False
                return None
            try:
                page = decode_manifest(reply.body, content_type)
            except InputError as exc:
                what = f"invalid referrers index: {exc.what}"
                raise self._exchange.error(call, "GET", url, reply, what) from None
            if isinstance(page, Index):
                found.extend(page.manifests)
            url = self._next_page(url, reply.headers.get("link"))
        with self._lock:
            self._referrers_api = True
        return tuple(found)

    def _next_page(self, url: str, link: str | None) -> str | None:
        if not link or 'rel="next"' not in link:
            return None
        target = link.split(";", 1)[0].strip().strip("<>")
        absolute = urljoin(url if "://" in url else self.base_url + url, target)
        # Only pages of this registry: same scheme, host and port (default ports filled in).
        return absolute if origin(absolute) == self._origin else None

    # ------------------------------------------------------------------ plumbing

    def _call(self, operation: str, repo: Repository) -> Call:
        return Call(operation=operation, registry=self.registry, repository=repo.name)


class Registries:
    """Hands out one `RegistryClient` per registry, all with the same options. Thread-safe.

    Plain HTTP only for hosts in `insecure` (`HOST` matches any port, `HOST:PORT` one);
    TLS trust from `ca_bundle`, else `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `CURL_CA_BUNDLE`,
    else certifi's bundle. `env` defaults to `os.environ` (CA variables and the keychain).
    Each registry host gets at most `max_in_flight` requests at once, shared by every thread.
    """

    def __init__(
        self,
        *,
        keychain: Keychain | None = None,
        insecure: Iterable[str] = (),
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        ca_bundle: str | None = None,
        env: Mapping[str, str] | None = None,
        response_hook: ResponseHook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        source = os.environ if env is None else env
        self._max_in_flight = max_in_flight  # per registry host, whatever the thread count
        self._keychain = keychain if keychain is not None else default_keychain(source)
        self._insecure = frozenset(registry_key(h) for h in insecure)
        self._retry = retry
        self._timeout = timeout
        bundle = (
            ca_bundle
            or source.get("REQUESTS_CA_BUNDLE")
            or source.get("SSL_CERT_FILE")
            or source.get("CURL_CA_BUNDLE")
        )
        self._verify: bool | str = bundle or True
        self._hook = response_hook
        self._sleep = sleep
        self._lock = threading.Lock()
        self._clients: dict[str, RegistryClient] = {}  # guarded by _lock

    def client(self, registry: str) -> RegistryClient:
        """The client for `registry` (a normalised host[:port]), created on first use."""
        with self._lock:
            found = self._clients.get(registry)
            if found is None:
                found = RegistryClient(
                    registry,
                    keychain=self._keychain,
                    insecure=self.is_insecure(registry),
                    verify=self._verify,
                    timeout=self._timeout,
                    retry=self._retry,
                    response_hook=self._hook,
                    sleep=self._sleep,
                    max_in_flight=self._max_in_flight,
                )
                self._clients[registry] = found
            return found

    def is_insecure(self, registry: str) -> bool:
        """Whether `registry` was named as plain HTTP."""
        key = registry_key(registry)
        return key in self._insecure or key.rsplit(":", 1)[0] in self._insecure

    def close(self) -> None:
        """Close every client's connections."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()

    def __enter__(self) -> Registries:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
