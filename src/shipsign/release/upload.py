"""Putting files on a release as assets, idempotently: a rerun sends nothing that is there.

Per file: an asset of the same name and content is left alone; other content is replaced only
with `force` (else reported as a conflict: a negative result, not an exception); a half-upload
("starter", left when GitHub failed mid-upload) is deleted first. A 422 `already_exists` (another
uploader got there first) or a 5xx makes us re-read the assets and decide again, within the
retry policy's attempts; running out stops the run with `UploadIncomplete`, naming what is on
the release and what is not.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import github
import requests

from shipsign.errors import InputError
from shipsign.github_api.connection import GitHubRepo, translate
from shipsign.github_api.errors import GitHubError, UploadIncomplete
from shipsign.release.download import CHUNK, stream_asset
from shipsign.release.model import (
    Asset,
    AssetFile,
    AssetResult,
    Downloaded,
    Outcome,
    Release,
    UploadReport,
)
from shipsign.release.releases import (
    asset_from,
    delete_asset,
    fetch_assets,
    immutable_error,
    is_immutable_refusal,
)

__all__ = ["digest_file", "upload_assets"]

_log = logging.getLogger(__name__)
_OPERATION = "upload a release asset"


def digest_file(path: Path) -> Downloaded:
    """Size and sha256 of a local file, read in chunks. Raises `InputError` if unreadable."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                size += len(chunk)
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}", found=exc.strerror or type(exc).__name__) from None
    return Downloaded(size=size, sha256=digest.hexdigest())


def upload_assets(
    repo: GitHubRepo,
    release: Release,
    files: Sequence[AssetFile],
    *,
    force: bool = False,
    listed: Sequence[Asset] | None = None,
) -> UploadReport:
    """Put `files` on `release`, idempotently (see the module's docstring).

    Network: one listing of the assets, then per file at most a DELETE and a POST (more on
    conflicts and failures). Raises `InputError` for an immutable release, an unreadable file
    or two files with one name; `UploadIncomplete` (exit 3) when GitHub fails after retries.
    """
    if release.immutable:
        raise immutable_error(repo.full_name, release)
    names = [f.name for f in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError("two files would be uploaded under one asset name", found=", ".join(twice))
    local = {f.name: digest_file(f.path) for f in files}
    # `listed`: the assets the caller read from this release moments ago (one GET fewer);
    # a concurrent uploader is still caught, by the 422 `already_exists` handling below.
    current = {a.name: a for a in (listed if listed is not None else fetch_assets(repo, release))}
    results: list[AssetResult] = []
    for index, item in enumerate(files):
        try:
            result = _put(repo, release, item, local[item.name], current, force=force)
        except GitHubError as exc:
            raise _incomplete(repo, release, results, files[index:], exc) from exc
        results.append(result)
    return UploadReport(release=release, results=tuple(results))


def _incomplete(
    repo: GitHubRepo,
    release: Release,
    done: list[AssetResult],
    left: Sequence[AssetFile],
    cause: GitHubError,
) -> UploadIncomplete:
    there = tuple(r.name for r in done if r.outcome is not Outcome.CONFLICT)
    missing = tuple(r.name for r in done if r.outcome is Outcome.CONFLICT)
    return UploadIncomplete(
        f"could not put every asset on release {release.tag} of {repo.full_name}",
        uploaded=there,
        missing=missing + tuple(f.name for f in left),
        cause=cause,
    )


def _put(
    repo: GitHubRepo,
    release: Release,
    item: AssetFile,
    local: Downloaded,
    current: dict[str, Asset],
    *,
    force: bool,
) -> AssetResult:
    """Make asset `item.name` hold `local`'s content; `current` is kept up to date."""
    policy = repo.settings.retry
    replaced = posted = False
    waited = 0.0
    attempt = 1
    while True:
        existing = current.get(item.name)
        if existing is not None and existing.state != "uploaded":
            # GitHub leaves a "starter" asset when an upload fails part-way; it blocks the name.
            _log.debug("deleting %s asset %s (%d)", existing.state, existing.name, existing.id)
            delete_asset(repo, release, existing)
            current.pop(item.name)
            existing = None
        if existing is not None:
            if _same_content(repo, existing, local):
                outcome = Outcome.UNCHANGED
                if posted:
                    outcome = Outcome.REPLACED if replaced else Outcome.UPLOADED
                return _result(item, outcome, local, existing)
            if not force:
                detail = f"the asset holds other content ({_describe(existing)})"
                return _result(item, Outcome.CONFLICT, local, existing, detail)
            delete_asset(repo, release, existing)
            current.pop(item.name)
            replaced = True
        try:
            created = _post(repo, release, item, local)
        except github.GithubException as exc:
            if is_immutable_refusal(exc):
                raise immutable_error(repo.full_name, release) from exc
            if not (_already_exists(exc) or exc.status >= 500):
                where = _where(repo, release, item)
                raise translate(
                    exc, operation=_OPERATION, where=where, permission="contents: write"
                ) from exc
            failure = _failure(exc, _where(repo, release, item))
            posted = posted or exc.status >= 500
            quick = _already_exists(exc)
        except requests.RequestException as exc:  # e.g. the connection dropped mid-upload
            failure = _failure(exc, _where(repo, release, item))
            posted, quick = True, False
        else:
            current[item.name] = created
            return _result(item, Outcome.REPLACED if replaced else Outcome.UPLOADED, local, created)
        attempt += 1
        wait = 0.0 if quick and attempt <= policy.attempts else None
        if not quick:
            wait = policy.delay(attempt, None, waited, now=repo.settings.now())
        if wait is None:
            raise GitHubError(
                f"gave up uploading {item.name} after {attempt - 1} attempts",
                operation=_OPERATION,
                status=failure.status,
                where=failure.where,
                found=failure.found or failure.what,
                hint="GitHub is failing; run the same command again later",
            )
        _log.debug("upload of %s failed (%s); again in %.2fs", item.name, failure.found, wait)
        if wait > 0:
            repo.settings.sleep(wait)
            waited += wait
        current.clear()
        current.update((a.name, a) for a in fetch_assets(repo, release))


def _post(repo: GitHubRepo, release: Release, item: AssetFile, local: Downloaded) -> Asset:
    """Upload the file (streamed from disk; network: 1 POST) and check what GitHub stored."""
    target = repo.git_release(release.id)
    try:
        with item.path.open("rb") as fh:
            raw = target.upload_asset_from_memory(
                fh, local.size, name=item.name, content_type=item.content_type, label=item.label
            )
    except OSError as exc:
        raise InputError(f"cannot read {item.path}", found=exc.strerror or "") from None
    created = asset_from(raw)
    stored = created.sha256 or local.sha256
    if created.size != local.size or stored != local.sha256:
        raise GitHubError(
            f"GitHub holds other bytes than were sent for {item.name}",
            operation=_OPERATION,
            where=_where(repo, release, item),
            expected=f"{local.size} bytes, sha256:{local.sha256}",
            found=_describe(created),
            hint="did the file change during the upload? run the same command again",
        )
    return created


def _same_content(repo: GitHubRepo, asset: Asset, local: Downloaded) -> bool:
    """Compare by GitHub's digest when it gives one, else by downloading and hashing."""
    if asset.size != local.size:
        return False
    if asset.sha256 is not None:
        return asset.sha256 == local.sha256
    return stream_asset(repo, asset).sha256 == local.sha256


def _already_exists(exc: github.GithubException) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    return (
        exc.status == 422
        and isinstance(errors, list)
        and any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors)
    )


def _failure(exc: github.GithubException | requests.RequestException, where: str) -> GitHubError:
    err = translate(exc, operation=_OPERATION, where=where)
    if isinstance(err, GitHubError):
        return err
    return GitHubError(err.what, operation=_OPERATION, where=where, found=err.found)


def _describe(asset: Asset) -> str:
    digest = f"sha256:{asset.sha256}" if asset.sha256 else "no digest"
    return f"{asset.size} bytes, {digest}"


def _where(repo: GitHubRepo, release: Release, item: AssetFile) -> str:
    return f"{repo.full_name} release {release.tag} asset {item.name}"


def _result(
    item: AssetFile, outcome: Outcome, local: Downloaded, asset: Asset, detail: str = ""
) -> AssetResult:
    return AssetResult(
        name=item.name, outcome=outcome, sha256=local.sha256, asset=asset, detail=detail
    )
