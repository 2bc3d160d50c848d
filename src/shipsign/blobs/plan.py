"""What a run will sign and write, decided before anything is signed or written.

Every pattern is expanded, every file checked and hashed, every output path fixed, and the
checksums file's content made. All of it can fail only as `InputError` (exit 2), and then
nothing has been written and no certificate requested.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from shipsign.blobs.checksums import ChecksumsError, format_checksums, parse_checksums
from shipsign.blobs.digest import hash_file
from shipsign.blobs.model import FileSignOptions
from shipsign.blobs.outputs import (
    BUNDLE_SUFFIX,
    CERTIFICATE_SUFFIX,
    SIGNATURE_SUFFIX,
    OutputPaths,
    output_paths,
    read_if_exists,
)
from shipsign.blobs.select import Match, check_regular_file, expand
from shipsign.errors import InputError

__all__ = ["FilePlan", "PlannedFile", "plan_files"]

_SUMS_MAX = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFile:
    """One file to sign: where it is, what it holds, where its outputs go."""

    path: Path
    sha256: str  # hex
    size: int
    outputs: OutputPaths
    checksums: bool = False
    content: bytes | None = None  # the checksums file: what it must hold (written when signed)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True, kw_only=True)
class FilePlan:
    """The files of one run, in signing order: sorted by path, the checksums file last."""

    options: FileSignOptions
    files: tuple[PlannedFile, ...]
    bundle_dir: Path | None  # resolved against the root; made when the first bundle is written

    @property
    def checksums(self) -> PlannedFile | None:
        last = self.files[-1] if self.files else None
        return last if last is not None and last.checksums else None


def plan_files(options: FileSignOptions) -> FilePlan:
    """Expand `options.patterns`, check and hash every file, fix every output path.

    Raises `InputError` naming the pattern or file for: a pattern that matches no file, a
    missing file, a directory, a file that cannot be read, a file shipsign itself writes
    (named explicitly), two inputs whose outputs or checksum lines would collide, a checksums
    name that is not a plain file name, or an output folder that cannot be written.
    """
    if not options.patterns:
        raise InputError("no file to sign", expected="one or more paths or globs")
    bundle_dir = None if options.bundle_dir is None else _join(options.root, options.bundle_dir)
    if bundle_dir is not None and bundle_dir.exists() and not bundle_dir.is_dir():
        raise InputError(
            "the bundle directory is not a directory",
            where=str(options.bundle_dir),
            expected="a directory (made if missing)",
            found="a file",
        )
    checksums_name = _checksums_name(options.checksums)
    matches, per_pattern = _expanded(options)
    candidates = [m for m in matches if not m.path.name.endswith(BUNDLE_SUFFIX)]
    own = _own_outputs(candidates, bundle_dir)
    if checksums_name is not None and candidates:
        folder = bundle_dir if bundle_dir is not None else candidates[0].path.parent
        sums_path = folder / checksums_name
        _not_someone_elses(sums_path)
        own |= {_key(sums_path), *(_key(p) for p in output_paths(sums_path, bundle_dir).all())}
    else:
        sums_path = None
    selected: list[Match] = []
    for match in matches:
        if match.path.name.endswith(BUNDLE_SUFFIX) or _key(match.path) in own:
            if match.literal:
                raise InputError(
                    "shipsign does not sign its own outputs",
                    where=match.pattern,
                    expected="a file to sign, not a bundle, .sig, .pem or checksums file "
                    "that shipsign writes",
                    found=_what_output(match.path, checksums_name),
                )
            continue
        selected.append(match)
    _every_pattern_matched(per_pattern, selected)
    files = [_planned(m, bundle_dir) for m in selected]
    _no_collisions(files, bundle_dir, checksums=checksums_name)
    if sums_path is not None:
        content = format_checksums((f.name, f.sha256) for f in files)
        files.append(
            PlannedFile(
                path=sums_path,
                sha256=_sha256(content),
                size=len(content),
                outputs=output_paths(sums_path, bundle_dir),
                checksums=True,
                content=content,
            )
        )
    _writable_folders(files, bundle_dir)
    _outputs_are_files(files, legacy=options.legacy_outputs)
    return FilePlan(options=options, files=tuple(files), bundle_dir=bundle_dir)


def _expanded(options: FileSignOptions) -> tuple[list[Match], dict[str, list[Match]]]:
    """Every match, de-duplicated by normalised path and sorted by path; and each pattern's."""
    found: dict[str, Match] = {}
    per_pattern: dict[str, list[Match]] = {}
    for pattern in options.patterns:
        matched = expand(pattern, options.root)
        per_pattern.setdefault(pattern, []).extend(matched)
        for match in matched:
            key = _key(match.path)
            if key not in found or (match.literal and not found[key].literal):
                found[key] = match
    return sorted(found.values(), key=lambda m: m.path.as_posix()), per_pattern


def _every_pattern_matched(per_pattern: dict[str, list[Match]], selected: list[Match]) -> None:
    """A pattern whose every match was left out (or that matched nothing) is an error."""
    kept = {_key(m.path) for m in selected}
    for pattern, matched in per_pattern.items():
        if any(_key(m.path) in kept for m in matched):
            continue
        names = [m.path.name for m in matched]
        found = (
            f"only files shipsign writes itself ({', '.join(names[:3])}"
            f"{', ...' if len(names) > 3 else ''})"
            if names
            else "no file"
        )
        raise InputError(
            "a file pattern matches no file to sign",
            where=pattern,
            expected="at least one regular file (globs: *, ?, [...], and ** for any depth)",
            found=found,
        )


def _planned(match: Match, bundle_dir: Path | None) -> PlannedFile:
    shown = _shown(match)
    check_regular_file(match.path, shown=shown)
    hexdigest, size = hash_file(match.path, shown=shown)
    return PlannedFile(
        path=match.path, sha256=hexdigest, size=size, outputs=output_paths(match.path, bundle_dir)
    )


def _shown(match: Match) -> str:
    if match.literal:
        return match.pattern
    return f"{match.path} (matched by {match.pattern})"


def _own_outputs(candidates: list[Match], bundle_dir: Path | None) -> set[str]:
    """The paths of every output any candidate would have, and every `X.sig` or `X.pem`
    beside a file `X`: a previous run's legacy outputs are outputs, not inputs, even when this
    run writes none (or writes them into a bundle directory)."""
    own = {_key(p) for m in candidates for p in output_paths(m.path, bundle_dir).all()}
    for match in candidates:
        stem, suffix = os.path.splitext(match.path.name)
        if (
            suffix in (SIGNATURE_SUFFIX, CERTIFICATE_SUFFIX)
            and (match.path.parent / stem).is_file()
        ):
            own.add(_key(match.path))
    return own


def _no_collisions(
    files: list[PlannedFile], bundle_dir: Path | None, *, checksums: str | None
) -> None:
    """Two inputs must not share a bundle (one bundle directory) or a checksums line."""
    by_name: dict[str, PlannedFile] = {}
    for planned in files:
        other = by_name.setdefault(planned.name, planned)
        if other is planned:
            continue
        if bundle_dir is not None or checksums is not None:
            into = (
                f"one bundle directory ({bundle_dir})"
                if bundle_dir is not None
                else f"the checksums file {checksums}, which lists base names"
            )
            raise InputError(
                f"two files to sign are both called {planned.name!r}",
                where=f"{other.path} and {planned.path}",
                expected=f"distinct base names for files that go into {into}",
                found="the same base name twice",
                hint="rename one, or sign them in separate runs",
            )
    if checksums is not None and checksums in by_name:
        raise InputError(
            f"a file to sign has the checksums file's name {checksums!r}",
            where=str(by_name[checksums].path),
            expected="a checksums name no file to sign has",
            found=checksums,
        )


def _writable_folders(files: list[PlannedFile], bundle_dir: Path | None) -> None:
    folders = {f.outputs.bundle.parent for f in files}
    if bundle_dir is not None:
        existing = bundle_dir
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        folders = {existing}
    for folder in sorted(folders):
        if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(
                "cannot write the signatures there",
                where=str(folder),
                expected="a directory this user can write (the bundles go there)",
                found="no write permission",
                hint="give --bundle-dir DIR to write them elsewhere",
            )


def _not_someone_elses(sums_path: Path) -> None:
    """The checksums file is rewritten on every run: what is at its path must be one (a
    previous run's), never a file that happens to have its name."""
    if not sums_path.exists():
        return
    content = read_if_exists(sums_path, _SUMS_MAX)
    try:
        if content is None:
            raise ChecksumsError("too large or unreadable")
        parse_checksums(content, where=str(sums_path))
    except ChecksumsError:
        raise InputError(
            f"a file that is not a checksums file has the checksums file's name {sums_path.name!r}",
            where=str(sums_path),
            expected="a checksums name no other file has (the checksums file is rewritten "
            "on every run)",
            found="a file that is not in sha256sum format",
            hint="choose another --checksums name",
        ) from None


def _outputs_are_files(files: list[PlannedFile], *, legacy: bool) -> None:
    """An output path that is a directory (or another non-file) cannot be replaced."""
    for planned in files:
        out = planned.outputs
        paths = [out.bundle, out.signature, out.certificate] if legacy else [out.bundle]
        if planned.checksums:
            paths.append(planned.path)
        for path in paths:
            if path.is_symlink() or not path.exists() or path.is_file():
                continue
            raise InputError(
                "an output shipsign would write is in the way",
                where=str(path),
                expected="a regular file there, or nothing (it is replaced)",
                found="a directory" if path.is_dir() else "not a regular file",
            )


def _checksums_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise InputError(
            "the checksums file must be a plain file name",
            expected="a name such as SHA256SUMS; it is written into the bundle directory, "
            "else beside the first file",
            found=repr(name),
        )
    if name.endswith(BUNDLE_SUFFIX):
        raise InputError(
            "the checksums file cannot have a bundle's name",
            expected=f"a name not ending in {BUNDLE_SUFFIX}",
            found=name,
        )
    return name


def _what_output(path: Path, checksums: str | None) -> str:
    if path.name.endswith(BUNDLE_SUFFIX):
        return "a Sigstore bundle"
    if checksums is not None and path.name == checksums:
        return "this run's checksums file"
    return f"the {path.suffix} output of {path.with_suffix('').name}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _join(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def _key(path: Path) -> str:
    return os.path.normpath(os.path.abspath(path))
