"""The project's policy file: where it is, what it may say, and what it means.

Looked up as ruff looks up its own: an explicit path (`--config`, the Action's `config` input,
`SHIPSIGN_CONFIG`), else the working directory and its parents up to the repository root; in
the first directory that has one, `.shipsign.toml`, then `shipsign.toml`, then
`pyproject.toml`'s `[tool.shipsign]` (skipped when the table is absent). Files are never merged.
Every problem is an `InputError` naming `file:line`, the key, and the nearest valid key.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.policy_options import (
    POLICY_OPTIONS,
    OptionSource,
    PolicyField,
    policy_option,
)
from shipsign.oci.reference import Reference, normalize_registry
from shipsign.policy.locate import KeyLocator
from shipsign.policy.patterns import glob_to_regexp, is_glob, pattern_problems

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "CONFIG_ENV",
    "CONFIG_NAMES",
    "PolicyEntry",
    "ShipsignConfig",
    "SignSettings",
    "Signer",
    "find_config",
    "group_images",
    "images_to_sign",
    "load_config",
    "repository_glob",
    "resolve_config",
]

CONFIG_ENV = "SHIPSIGN_CONFIG"
CONFIG_NAMES = (".shipsign.toml", "shipsign.toml")
_PYPROJECT = "pyproject.toml"
_SIGN_FORMATS = ("both", "bundle", "legacy")
_SIGN_KEYS = ("images", "files", "format", "recursive")
_TOP_KEYS = ("sign", "policy")
# The `[[policy]]` keys: images and name, then the option table's keys (`github.*` nested).
_GITHUB = "github"
_ENTRY_KEYS = ("images", "name", _GITHUB, *(o.key for o in POLICY_OPTIONS if "." not in o.key))
_GITHUB_KEYS = {
    o.key.split(".", 1)[1]: o.field for o in POLICY_OPTIONS if o.key.startswith(_GITHUB + ".")
}
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?")


@dataclass(frozen=True, slots=True, kw_only=True)
class SignSettings:
    """`[sign]`: defaults for `shipsign sign`; None means "not in the file"."""

    images: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    format: str | None = None
    recursive: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Signer:
    """One allowed signer: exactly one identity form and one issuer form, plus GitHub claims.

    `identity_regexp` is set for a glob too (its anchored translation); `identity_glob` keeps
    what the user wrote. Every regexp is anchored `^...$` and valid in RE2 and Python.
    """

    identity: str | None = None
    identity_glob: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    github: Mapping[PolicyField, str]
    where: str = ""

    def fields(self) -> dict[str, str | None]:
        """The request mapping `build_identity_policy` takes (keyed by `PolicyField` value)."""
        values: dict[str, str | None] = {
            PolicyField.IDENTITY.value: self.identity,
            PolicyField.IDENTITY_REGEXP.value: self.identity_regexp,
            PolicyField.ISSUER.value: self.issuer,
            PolicyField.ISSUER_REGEXP.value: self.issuer_regexp,
        }
        values.update({f.value: v for f, v in self.github.items()})
        return values


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyEntry:
    """One `[[policy]]`: the repositories it covers (normalised globs) and its signer."""

    images: tuple[str, ...]
    signer: Signer
    name: str | None = None
    where: str = ""

    def covers(self, repository: str) -> bool:
        """True when a glob of this entry matches `repository` (a normalised name)."""
        return any(re.fullmatch(glob_to_regexp(g)[1:-1], repository) for g in self.images)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipsignConfig:
    """A parsed policy file. `path` names it in every message."""

    path: Path
    sign: SignSettings
    policies: tuple[PolicyEntry, ...]

    def entries_for(self, image: str) -> tuple[PolicyEntry, ...]:
        """The entries that decide `image`: the first entry whose globs match it, and every
        entry that names the same globs (any of their signers passes). Empty: none matches."""
        repository = Reference.parse(image).repository.name
        first = next((e for e in self.policies if e.covers(repository)), None)
        if first is None:
            return ()
        return tuple(e for e in self.policies if set(e.images) == set(first.images))

    def policy_for(self, image: str) -> IdentityPolicy:
        """The identity policy for `image`; raises InputError naming this file if none."""
        entries = self.entries_for(image)
        if not entries:
            globs = sorted({g for e in self.policies for g in e.images})
            raise InputError(
                f"no [[policy]] in {self.path} covers {image}",
                where=str(self.path),
                expected="a [[policy]] whose `images` glob matches "
                + Reference.parse(image).repository.name,
                found=", ".join(globs) if globs else "no [[policy]] entries",
                hint="add one, or give the identity with --certificate-identity[-regexp] and "
                "--certificate-oidc-issuer",
            )
        return build_identity_policy(
            [e.signer.fields() for e in entries], source=OptionSource.CONFIG
        )

    def groups(self) -> list[tuple[PolicyEntry, ...]]:
        """Entries grouped by the globs they name, in file order (one export object each)."""
        out: dict[frozenset[str], list[PolicyEntry]] = {}
        for entry in self.policies:
            out.setdefault(frozenset(entry.images), []).append(entry)
        return [tuple(group) for group in out.values()]


def repository_glob(text: str) -> str:
    """Normalise a repository glob as image references are (`docker.io/x` → `index.docker.io/x`,
    `alpine` → `index.docker.io/library/alpine`). Raises InputError for a tag or digest."""
    if "@" in text or ":" in text.split("/")[-1]:
        raise InputError(
            f"repository glob {text!r} carries a tag or digest",
            expected="a repository, e.g. ghcr.io/acme/app or ghcr.io/acme/*",
        )
    if not is_glob(text):
        return Reference.parse(text).repository.name
    first, _, rest = text.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return f"{normalize_registry(first)}/{rest}"
    return f"index.docker.io/{text}"


def find_config(start: Path) -> Path | None:
    """The policy file for `start`: its directory or a parent up to the repository root (the
    first with `.git`); without a repository, only `start` itself."""
    start = start.resolve()
    chain = [start, *start.parents]
    root = next((d for d in chain if _there(d / ".git")), None)
    for directory in chain if root is not None else [start]:
        for name in CONFIG_NAMES:
            if _there(directory / name, file=True):
                return directory / name
        pyproject = directory / _PYPROJECT
        if _there(pyproject, file=True) and _has_tool_table(pyproject):
            return pyproject
        if directory == root:
            break
    return None


def _there(path: Path, *, file: bool = False) -> bool:
    """Whether `path` exists (as a regular file, with `file`). A directory this user may not
    search hides what is in it: not there, rather than a crash (a job's user below a private
    temporary directory)."""
    try:
        return path.is_file() if file else path.exists()
    except PermissionError:
        return False


def resolve_config(
    explicit: str | None, env: Mapping[str, str], cwd: Path
) -> ShipsignConfig | None:
    """The config a command runs with: `explicit` (a flag or Action input), else
    `$SHIPSIGN_CONFIG`, else `find_config(cwd)`; None when there is none."""
    named = explicit or env.get(CONFIG_ENV, "")
    if named:
        path = Path(named)
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            raise InputError(
                "the config file does not exist",
                where=named,
                expected="a .shipsign.toml, shipsign.toml or pyproject.toml",
            )
        return load_config(path)
    found = find_config(cwd)
    return load_config(found) if found is not None else None


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("cannot read the config file", where=str(path), found=str(exc)) from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise InputError(
            "the config file is not valid TOML",
            where=f"{path}:{line.group(1)}" if line else str(path),
            found=str(exc),
        ) from exc


def _has_tool_table(path: Path) -> bool:
    _, doc = _read(path)
    tool = doc.get("tool")
    return isinstance(tool, dict) and "shipsign" in tool


def load_config(path: Path) -> ShipsignConfig:
    """Parse and check the policy file at `path` (a pyproject.toml: its `[tool.shipsign]`)."""
    text, doc = _read(path)
    prefix = ""
    if path.name == _PYPROJECT:
        tool = doc.get("tool")
        if not isinstance(tool, dict) or not isinstance(tool.get("shipsign"), dict):
            raise InputError(
                "pyproject.toml has no [tool.shipsign] table",
                where=str(path),
                expected="[tool.shipsign]",
            )
        doc, prefix = tool["shipsign"], "tool.shipsign."
    return _Parser(path, KeyLocator(text), prefix).parse(doc)


class _Parser:
    def __init__(self, path: Path, locator: KeyLocator, prefix: str) -> None:
        self.path, self.locator, self.prefix = path, locator, prefix

    def where(
        self, table: str, index: int = 0, key: str | None = None, sub: str | None = None
    ) -> str:
        full = self.prefix + table if table else self.prefix.rstrip(".")
        return f"{self.path}:{self.locator.line(full, index, key, sub)}"

    def error(self, what: str, where: str, **details: str) -> InputError:
        return InputError(what, where=where, **details)

    def unknown(
        self,
        keys: Sequence[str],
        valid: Sequence[str],
        table: str,
        index: int = 0,
        parent: str | None = None,
    ) -> None:
        for key in keys:
            if key in valid:
                continue
            # An abbreviation (`repo`) means the key it starts; else the closest spelling.
            close = [v for v in valid if v.startswith(key)][:1] or difflib.get_close_matches(
                key, list(valid), n=1, cutoff=0.6
            )
            label = f"{parent}.{key}" if parent else key
            shown = {"policy": "[[policy]]", "sign": "[sign]", "": "the top level"}[table]
            raise self.error(
                f"unknown key `{label}` in {shown}",
                self.where(table, index, parent or key, key if parent else None),
                expected=", ".join(valid),
                found=label,
                hint=f"did you mean `{close[0]}`?" if close else "",
            )

    def parse(self, doc: Mapping[str, Any]) -> ShipsignConfig:
        self.unknown(list(doc), _TOP_KEYS, "")
        sign = doc.get("sign", {})
        if not isinstance(sign, dict):
            raise self.error("`sign` must be a table", self.where("", 0, "sign"), expected="[sign]")
        policies = doc.get("policy", [])
        if not isinstance(policies, list) or not all(isinstance(p, dict) for p in policies):
            raise self.error(
                "`policy` must be an array of tables",
                self.where("", 0, "policy"),
                expected="[[policy]] entries",
            )
        return ShipsignConfig(
            path=self.path,
            sign=self._sign(sign),
            policies=tuple(self._entry(p, i) for i, p in enumerate(policies)),
        )

    def _strings(self, value: Any, where: str, key: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(
                f"`{key}` must be a list of non-empty strings",
                where,
                found=repr(value),
                expected='e.g. ["ghcr.io/acme/app"]',
            )
        return tuple(value)

    def _sign(self, table: Mapping[str, Any]) -> SignSettings:
        self.unknown(list(table), _SIGN_KEYS, "sign")
        images = self._strings(table.get("images", []), self.where("sign", 0, "images"), "images")
        for image in images:
            try:
                ref = Reference.parse(image)
            except InputError as exc:
                raise self.error(
                    exc.what, self.where("sign", 0, "images"), expected=exc.expected
                ) from None
            if ref.tag is not None or ref.digest is not None:
                raise self.error(
                    f"[sign] images: {image!r} carries a tag or digest",
                    self.where("sign", 0, "images"),
                    expected="repositories only; the tag or digest comes from the command line",
                )
        files = self._strings(table.get("files", []), self.where("sign", 0, "files"), "files")
        fmt = table.get("format")
        if fmt is not None and fmt not in _SIGN_FORMATS:
            raise self.error(
                "[sign] format has an unknown value",
                self.where("sign", 0, "format"),
                expected=" | ".join(_SIGN_FORMATS),
                found=repr(fmt),
            )
        recursive = table.get("recursive")
        if recursive is not None and not isinstance(recursive, bool):
            raise self.error(
                "[sign] recursive must be true or false",
                self.where("sign", 0, "recursive"),
                expected="true or false",
                found=repr(recursive),
            )
        return SignSettings(images=images, files=files, format=fmt, recursive=recursive)

    def _entry(self, table: Mapping[str, Any], index: int) -> PolicyEntry:
        here = self.where("policy", index)
        self.unknown(list(table), _ENTRY_KEYS, "policy", index)
        for key, value in table.items():
            if key not in ("images", _GITHUB) and not isinstance(value, str):
                raise self.error(
                    f"`{key}` must be a string", self.where("policy", index, key), found=repr(value)
                )
        if "images" not in table:
            raise self.error(
                "a [[policy]] needs `images`", here, expected='images = ["ghcr.io/acme/*"]'
            )
        at = self.where("policy", index, "images")
        images = []
        for glob in self._strings(table["images"], at, "images"):
            try:
                images.append(repository_glob(glob))
                glob_to_regexp(glob)
            except (InputError, ValueError) as exc:
                what = exc.what if isinstance(exc, InputError) else str(exc)
                raise self.error(f"bad repository glob {glob!r}: {what}", at) from None
        name = table.get("name")
        if name is not None and not _NAME.fullmatch(name):
            raise self.error(
                "`name` must be a Kubernetes object name",
                self.where("policy", index, "name"),
                expected="lower-case letters, digits and '-', at most 52 characters",
                found=repr(name),
            )
        github = table.get(_GITHUB, {})
        if not isinstance(github, dict):
            raise self.error(
                "`github` must be a table",
                self.where("policy", index, _GITHUB),
                expected='github = { repository = "acme/app" }',
            )
        self.unknown(list(github), list(_GITHUB_KEYS), "policy", index, parent=_GITHUB)
        claims: dict[PolicyField, str] = {}
        for key, value in github.items():
            if not isinstance(value, str) or not value:
                raise self.error(
                    f"`github.{key}` must be a non-empty string",
                    self.where("policy", index, _GITHUB, key),
                    found=repr(value),
                )
            claims[_GITHUB_KEYS[key]] = value
        signer = self._signer(table, claims, index)
        try:
            build_identity_policy([signer.fields()], source=OptionSource.CONFIG)
        except InputError as exc:
            raise self.error(exc.what, here, expected=exc.expected, found=exc.found) from None
        return PolicyEntry(images=tuple(images), signer=signer, name=name, where=here)

    def _signer(
        self, table: Mapping[str, Any], claims: Mapping[PolicyField, str], index: int
    ) -> Signer:
        F = PolicyField
        key = {
            f: policy_option(f).key
            for f in (F.IDENTITY, F.IDENTITY_REGEXP, F.ISSUER, F.ISSUER_REGEXP)
        }
        here = self.where("policy", index)
        for exact_field, regexp_field in (
            (F.IDENTITY, F.IDENTITY_REGEXP),
            (F.ISSUER, F.ISSUER_REGEXP),
        ):
            given = [k for k in (key[exact_field], key[regexp_field]) if k in table]
            if len(given) != 1:
                raise self.error(
                    f"a [[policy]] needs one of `{key[exact_field]}` and `{key[regexp_field]}`",
                    here if not given else self.where("policy", index, given[1]),
                    found=" and ".join(f"`{g}`" for g in given) or "neither",
                    hint="every engine a policy is exported to needs an issuer and an identity",
                )
        ref = claims.get(F.GITHUB_REF, "")
        identity_text = table.get(key[F.IDENTITY]) or table.get(key[F.IDENTITY_REGEXP], "")
        release = (
            ref.startswith("refs/tags/")
            or re.search(r"refs/[^@$]*tags", identity_text) is not None
            or claims.get(F.GITHUB_WORKFLOW_TRIGGER) == "release"
        )
        identity = table.get(key[F.IDENTITY])
        glob = identity if identity is not None and is_glob(identity) else None
        regexp = table.get(key[F.IDENTITY_REGEXP])
        if glob is not None:
            try:
                regexp = glob_to_regexp(glob)
            except ValueError as exc:
                raise self.error(
                    f"bad glob in `{key[F.IDENTITY]}`: {exc}",
                    self.where("policy", index, key[F.IDENTITY]),
                    found=repr(glob),
                ) from None
            identity = None
        for field_, value in (
            (F.IDENTITY_REGEXP, regexp),
            (F.ISSUER_REGEXP, table.get(key[F.ISSUER_REGEXP])),
        ):
            if value is None:
                continue
            shown = (
                key[F.IDENTITY] if glob is not None and field_ is F.IDENTITY_REGEXP else key[field_]
            )
            problems = pattern_problems(value, release=release and field_ is F.IDENTITY_REGEXP)
            if problems:
                first = problems[0]
                raise self.error(
                    f"`{shown}`: {first.what}",
                    self.where("policy", index, shown),
                    found=glob if shown == key[F.IDENTITY] and glob else value,
                    hint=first.hint,
                )
        return Signer(
            identity=identity,
            identity_glob=glob,
            identity_regexp=regexp,
            issuer=table.get(key[F.ISSUER]),
            issuer_regexp=table.get(key[F.ISSUER_REGEXP]),
            github=dict(claims),
            where=here,
        )


def images_to_sign(
    settings: SignSettings, given: Sequence[str], path: Path | None
) -> tuple[str, ...]:
    """The references `sign` works on: `given` as is, except that a bare `:TAG` or `@DIGEST`
    is applied to every repository of `[sign] images` (flags and arguments beat the file)."""
    out: list[str] = []
    for item in given:
        if not item.startswith((":", "@")):
            out.append(item)
            continue
        if not settings.images:
            raise InputError(
                f"{item!r} names no repository",
                where=str(path) if path else "",
                expected="a full image reference, or [sign] images in the config file",
                found="no [sign] images" if path else "no config file",
            )
        out += [repo + item for repo in settings.images]
    return tuple(out)


def group_images(
    config: ShipsignConfig, images: Sequence[str]
) -> list[tuple[IdentityPolicy, tuple[str, ...]]]:
    """`images` grouped by the policy that decides each (file order kept); raises
    InputError naming the file for an image no `[[policy]]` covers."""
    groups: dict[tuple[int, ...], list[str]] = {}
    policies: dict[tuple[int, ...], IdentityPolicy] = {}
    for image in images:
        entries = config.entries_for(image)
        key = tuple(config.policies.index(e) for e in entries)
        if key not in policies:
            policies[key] = config.policy_for(image)
        groups.setdefault(key, []).append(image)
    return [(policies[key], tuple(group)) for key, group in groups.items()]
