"""Use case: sign a release's images and files in one run, and put the bundles on its GitHub
release.

Order matters. The release is found (or made, as a draft) and checked for immutability before
anything is signed: a release that cannot take assets must not cost a certificate and log
entries. Bundles already on the release are fetched beside their files first, so that a rerun
in a fresh checkout finds them, skips signing (no new Rekor entry) and uploads nothing. Then the
sign use case runs, and its outputs are uploaded idempotently.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipsign.blobs.model import FileResult
from shipsign.errors import InputError
from shipsign.github_api.connection import GitHubRepo, GitHubSettings
from shipsign.oci.client import Registries
from shipsign.release.download import BUNDLE_LIMIT, read_asset
from shipsign.release.model import Asset, AssetFile, Release, UploadReport
from shipsign.release.releases import fetch_assets, open_release
from shipsign.release.upload import upload_assets
from shipsign.sign import SignReport, SignRequest, plan_files_for, sign_artifacts

__all__ = [
    "AUTO_TAG",
    "PublishReport",
    "ReleaseTarget",
    "asset_files",
    "release_tag",
    "sign_and_publish",
]

_log = logging.getLogger(__name__)
_JSON = "application/json"
AUTO_TAG = "auto"  # the tag whose push started the workflow


def release_tag(value: str, environ: Mapping[str, str]) -> str:
    """The release tag `value` names: itself, or with `auto` the tag that triggered the
    workflow (`GITHUB_REF` refs/tags/NAME). Raises `InputError` for `auto` on any other ref."""
    value = value.strip()
    if value != AUTO_TAG:
        if not value or any(c.isspace() for c in value):
            raise InputError("not a release tag", found=repr(value), expected="a tag, or auto")
        return value
    ref = environ.get("GITHUB_REF", "")
    if ref.startswith("refs/tags/") and len(ref) > len("refs/tags/"):
        return ref[len("refs/tags/") :]
    raise InputError(
        "github-release: auto needs a workflow started by a tag",
        where="GITHUB_REF",
        expected="refs/tags/<tag> (on: push: tags: [...], or a release event)",
        found=ref or "not set",
        hint="give the tag itself, or run the release job on tag pushes",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseTarget:
    """Where the bundles go: the release for `tag` in `repository` (OWNER/REPO)."""

    repository: str
    tag: str
    create: bool = False  # make a draft release if there is none
    upload_files: bool = False  # upload the signed files too, not only their bundles
    force: bool = False  # replace an asset of the same name and other content


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishReport:
    sign: SignReport
    upload: UploadReport
    fetched: tuple[str, ...] = ()  # bundles taken from the release before signing


def sign_and_publish(
    request: SignRequest,
    target: ReleaseTarget,
    *,
    settings: GitHubSettings,
    registries: Registries | None = None,
) -> PublishReport:
    """Sign `request` (images and files) and upload the file outputs to the release.

    Bad local input (files, patterns) fails first, then a missing (and not `create`) or
    immutable release: both before anything is signed. Bundles on the release that are missing
    beside their files are fetched first (see the module's docstring). Raises the sign use
    case's errors, and `UploadIncomplete` (exit 3) when GitHub fails mid-upload, naming what
    is there and what is not.
    """
    plan = plan_files_for(request)
    with GitHubRepo(settings, target.repository) as repo:
        release = open_release(repo, target.tag, create=target.create)
        wanted = (
            [(f.outputs.bundle.name, f.outputs.bundle) for f in plan.files]
            if plan is not None and not request.force
            else []
        )
        fetched, listed = _fetch_bundles(repo, release, wanted)
        report = sign_artifacts(request, registries=registries, file_plan=plan)
        files = asset_files(report.files, upload_files=target.upload_files)
        upload = upload_assets(repo, release, files, force=target.force, listed=listed)
    return PublishReport(sign=report, upload=upload, fetched=fetched)


def asset_files(results: Sequence[FileResult], *, upload_files: bool) -> tuple[AssetFile, ...]:
    """What goes on the release for the signed files: every output (bundle, and `.sig`/`.pem`
    with legacy outputs), the checksums file shipsign wrote, and with `upload_files` the files.
    A file that failed to sign contributes nothing."""
    out: list[AssetFile] = []
    for result in results:
        if not result.ok:
            continue
        if upload_files or result.checksums:
            out.append(AssetFile(path=result.path, name=result.path.name))
        for path in result.outputs:
            kind = _JSON if path.name.endswith(".json") else "application/octet-stream"
            out.append(AssetFile(path=path, name=path.name, content_type=kind))
    return tuple(out)


def _fetch_bundles(
    repo: GitHubRepo, release: Release, wanted: Sequence[tuple[str, Path]]
) -> tuple[tuple[str, ...], tuple[Asset, ...] | None]:
    """Write each release bundle in `wanted` that is missing locally to its path; return their
    names and the release's asset list when it was read (the upload reuses it).

    What is written is only a candidate: signing skips a file only if this bundle verifies for
    it, by this identity, and matches its digest; otherwise it signs again (and the upload then
    finds the release's asset different: a conflict, or a replacement with force).
    """
    missing = [(name, path) for name, path in wanted if not path.exists()]
    if not missing:
        return (), None
    listed = fetch_assets(repo, release)
    on_release: dict[str, Asset] = {a.name: a for a in listed}
    fetched: list[str] = []
    for name, path in missing:
        asset = on_release.get(name)
        if asset is None or asset.state != "uploaded":
            continue
        content = read_asset(repo, asset, limit=BUNDLE_LIMIT)
        _write_new(path, content)
        fetched.append(name)
        _log.info("took %s from release %s to check before signing", name, release.tag)
    return tuple(fetched), listed


def _write_new(path: Path, content: bytes) -> None:
    """Create `path` with `content` atomically; never replace a file that appeared meanwhile."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.link(tmp, path)  # fails if path exists: nothing a user had is replaced
        finally:
            os.unlink(tmp)
    except FileExistsError:
        return
    except OSError as exc:
        raise InputError(
            "cannot write a bundle taken from the release", where=str(path), found=str(exc)
        ) from exc
