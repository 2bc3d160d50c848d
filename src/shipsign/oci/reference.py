"""Image references: parse and normalise them as Docker and cosign (go-containerregistry) do.

Pure: no I/O. Registries, authentication and HTTP live in the other `oci` modules.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shipsign.errors import InputError

__all__ = [
    "DEFAULT_TAG",
    "DOCKER_HUB",
    "Digest",
    "Reference",
    "Repository",
    "api_host",
    "normalize_registry",
]

DOCKER_HUB = "index.docker.io"  # ggcr's name.DefaultRegistry; what `Repository.name` shows
DEFAULT_TAG = "latest"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HUB_API_HOST = "registry-1.docker.io"  # where Docker Hub serves /v2/
_NAME_MAX = 255  # distribution/reference: NameTotalLengthMax

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_RE = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[a-fA-F0-9:]+\])(?::(?P<port>[0-9]{{1,5}}))?")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST_HEX = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True, slots=True)
class Digest:
    """A content digest such as `sha256:<64 hex>`; only sha256 and sha512 are accepted."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse `algorithm:hex`; raise `InputError` saying what is wrong."""
        algorithm, sep, hexpart = text.partition(":")
        if not sep:
            raise InputError(
                f"invalid digest {text!r}: missing ':'", expected="sha256:<64 hex digits>"
            )
        want = _DIGEST_HEX.get(algorithm)
        if want is None:
            raise InputError(
                f"invalid digest {text!r}: unsupported algorithm {algorithm!r}",
                expected="sha256 or sha512",
            )
        if len(hexpart) != want:
            raise InputError(
                f"invalid digest {text!r}: {algorithm} needs {want} hex digits, got {len(hexpart)}"
            )
        if not re.fullmatch(r"[0-9a-f]+", hexpart):
            raise InputError(
                f"invalid digest {text!r}: the hex part must be lower-case 0-9a-f",
            )
        return cls(algorithm, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """Compute the digest of `data`."""
        if algorithm not in _DIGEST_HEX:
            raise InputError(f"unsupported digest algorithm {algorithm!r}")
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def matches(self, data: bytes) -> bool:
        """Whether `data` hashes to this digest."""
        return hashlib.new(self.algorithm, data).hexdigest() == self.hex

    @property
    def tag_form(self) -> str:
        """`sha256-<hex>`: the referrers tag schema and the base of cosign's `.sig` tags."""
        # distribution-spec "Referrers Tag Schema": algorithm ≤ 32 chars, encoded part ≤ 64.
        return f"{self.algorithm[:32]}-{self.hex[:64]}"

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def normalize_registry(host: str) -> str:
    """Map Docker Hub's aliases (`docker.io`, `registry-1.docker.io`) to `index.docker.io`."""
    # Other hosts keep their spelling, as in Docker: an upper-case first component is what
    # marks it as a registry in `Foo/bar`, so lower-casing would change the meaning.
    return DOCKER_HUB if host.lower() in _HUB_ALIASES else host


def api_host(registry: str) -> str:
    """The host that serves `/v2/` for a normalised registry (Docker Hub: registry-1)."""
    return _HUB_API_HOST if registry == DOCKER_HUB else registry


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository on a registry; `name` is ggcr's `Repository.Name()`."""

    registry: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Repository:
        """Parse `[registry/]path` (no tag, no digest) with Docker's defaults."""
        ref = Reference.parse(text)
        if ref.tag is not None or ref.digest is not None:
            raise InputError(f"invalid repository {text!r}: it must not carry a tag or digest")
        return ref.repository

    @property
    def name(self) -> str:
        """`<registry>/<path>`, e.g. `index.docker.io/library/alpine`."""
        return f"{self.registry}/{self.path}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """A repository plus a tag and/or digest. When both are given the digest wins."""

    repository: Repository
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse an image reference; raise `InputError` quoting it and saying what is wrong."""
        if not text or text != text.strip():
            raise InputError(f"invalid image reference {text!r}: empty or surrounded by whitespace")
        rest, at, digest_text = text.partition("@")
        digest = _parse_ref_digest(text, digest_text) if at else None
        name, tag = _split_tag(rest)
        if tag is not None and not _TAG_RE.fullmatch(tag):
            raise InputError(
                f"invalid image reference {text!r}: bad tag {tag!r}",
                expected="≤ 128 letters, digits, '_', '.', '-', not starting with '.' or '-'",
            )
        repository = _parse_repository(text, name)
        return cls(repository=repository, tag=tag, digest=digest)

    @property
    def identifier(self) -> str:
        """What goes after `/manifests/`: the digest if any, else the tag (default `latest`)."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag if self.tag is not None else DEFAULT_TAG

    def with_digest(self, digest: Digest) -> Reference:
        """The same repository pinned to `digest` (the tag is dropped)."""
        return Reference(repository=self.repository, digest=digest)

    def __str__(self) -> str:
        text = self.repository.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _parse_ref_digest(text: str, digest_text: str) -> Digest:
    try:
        return Digest.parse(digest_text)
    except InputError as exc:
        raise InputError(
            f"invalid image reference {text!r}: {exc.what}", expected=exc.expected
        ) from None


def _split_tag(name: str) -> tuple[str, str | None]:
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None


def _parse_repository(text: str, name: str) -> Repository:
    first, slash, remainder = name.partition("/")
    # Docker's rule (distribution/reference splitDockerDomain): the first component is a
    # registry if it has a '.' or ':', is 'localhost', or has upper-case letters.
    if slash and (":" in first or "." in first or first == "localhost" or first != first.lower()):
        registry, path = _parse_host(text, first), remainder
    else:
        registry, path = DOCKER_HUB, name
    if not path:
        raise InputError(f"invalid image reference {text!r}: the repository path is empty")
    if path != path.lower():
        raise InputError(f"invalid image reference {text!r}: repository names must be lowercase")
    if not _PATH_RE.fullmatch(path):
        raise InputError(
            f"invalid image reference {text!r}: bad repository path {path!r}",
            expected="'/'-separated lowercase components of a-z, 0-9 and single '.', '_', '-'",
        )
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"  # official images live under library/
    if len(registry) + 1 + len(path) > _NAME_MAX:
        raise InputError(
            f"invalid image reference {text!r}: the name is longer than {_NAME_MAX} characters"
        )
    return Repository(registry, path)


def _parse_host(text: str, host: str) -> str:
    match = _HOST_RE.fullmatch(host)
    if match is None:
        raise InputError(f"invalid image reference {text!r}: bad registry host {host!r}")
    port = match.group("port")
    if port is not None and not 0 < int(port) <= 65535:
        raise InputError(f"invalid image reference {text!r}: port {port} is out of range")
    return normalize_registry(host)
