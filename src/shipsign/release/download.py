"""Streaming an asset's content: through sha256, into a sink, with memory flat however large.

PyGithub 2.x's `download_asset` reads the whole body into memory (its connection never passes
`stream=True`), so the content is fetched here, from the asset's API URL with
`Accept: application/octet-stream` and the same token. GitHub answers with a redirect to its
storage host, signed in the query; the token never follows a redirect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from urllib.parse import urljoin

import github
import requests

from shipsign.errors import InputError
from shipsign.github_api.connection import USER_AGENT, GitHubRepo, translate
from shipsign.github_api.errors import GitHubError
from shipsign.release.model import Asset, Downloaded

__all__ = ["BUNDLE_LIMIT", "read_asset", "stream_asset"]

CHUNK = 1 << 20
BUNDLE_LIMIT = 4 << 20  # a Sigstore bundle or a checksums file is far smaller
_MAX_REDIRECTS = 5
_ERROR_BYTES = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_OCTETS = "application/octet-stream"


def stream_asset(
    repo: GitHubRepo,
    asset: Asset,
    *,
    sink: Callable[[bytes], object] | None = None,
    limit: int | None = None,
) -> Downloaded:
    """Stream `asset` through sha256 (and `sink`, chunk by chunk); return its size and digest.

    Network: one GET of the API URL, then its redirect. Raises `GitHubError` when GitHub fails
    or the body is cut short, `InputError` when the asset is absent or longer than `limit`.
    """
    where = f"{repo.full_name} asset {asset.name}"
    operation = "download a release asset"
    try:
        resp = _open(repo, asset.url)
        try:
            if resp.status_code != 200:
                raise translate(_as_github_error(resp), operation=operation, where=where)
            return _consume(resp, asset, sink, limit, where)
        finally:
            resp.close()
    except requests.RequestException as exc:
        raise translate(exc, operation=operation, where=where) from exc


def read_asset(repo: GitHubRepo, asset: Asset, *, limit: int = BUNDLE_LIMIT) -> bytes:
    """An asset's content in memory: only for small ones (bundles, checksums files)."""
    data = bytearray()
    stream_asset(repo, asset, sink=data.extend, limit=limit)
    return bytes(data)


def _open(repo: GitHubRepo, url: str) -> requests.Response:
    timeout = (5.0, float(repo.settings.timeout))
    headers = {"Accept": _OCTETS, **repo.auth_headers()}
    resp = repo.session.get(
        url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
    )
    for _ in range(_MAX_REDIRECTS):
        location = resp.headers.get("Location")
        if resp.status_code not in _REDIRECTS or not location:
            break
        target = urljoin(resp.url, location)
        resp.close()
        # The token stays behind: the storage URL is signed, and may be another host.
        plain = {"Accept": _OCTETS, "User-Agent": USER_AGENT}
        resp = repo.session.get(
            target, headers=plain, stream=True, allow_redirects=False, timeout=timeout
        )
    return resp


def _consume(
    resp: requests.Response,
    asset: Asset,
    sink: Callable[[bytes], object] | None,
    limit: int | None,
    where: str,
) -> Downloaded:
    digest = hashlib.sha256()
    size = 0
    for chunk in resp.iter_content(CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise InputError(
                f"release asset {asset.name} is larger than expected",
                where=where,
                expected=f"at most {limit} bytes",
            )
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
    if asset.size and size != asset.size:
        raise GitHubError(
            f"the download of {asset.name} was cut short",
            operation="download a release asset",
            where=where,
            expected=f"{asset.size} bytes",
            found=f"{size} bytes",
            hint="run the same command again",
        )
    return Downloaded(size=size, sha256=digest.hexdigest())


def _as_github_error(resp: requests.Response) -> github.GithubException:
    raw = resp.raw.read(_ERROR_BYTES, decode_content=True) if resp.raw is not None else b""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    headers = {k.lower(): v for k, v in resp.headers.items()}
    return github.GithubException(resp.status_code, data, headers)
