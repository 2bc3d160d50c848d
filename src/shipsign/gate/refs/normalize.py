"""From the text a scanner read to an `ImageUse`: normalised, dynamic, or invalid.

Normal form: `docker.io/library/nginx:latest` for `nginx`; a Docker Hub image always under
`docker.io`, a missing tag read as `latest` (unless a digest pins it), a digest kept, the rest
as `shipsign.oci.reference.Reference.parse` reads it (the registry's spelling is kept, since an
upper-case first component is what makes it a registry).

An invalid reference (`Nginx`, `app:`, a bad digest) is still reported: an `ImageUse` with
`image=None`, the kind it would have had (not DYNAMIC, see `ImageUse.invalid`) and the parser's
reason in `note`, so that the gate can name the file and line and give it the INVALID verdict.
A FileProblem would lose the text and the line.
"""

from __future__ import annotations

import re

from shipsign.errors import InputError
from shipsign.gate.model import ImageUse, RefKind
from shipsign.oci.reference import DOCKER_HUB, Reference

__all__ = ["is_dynamic", "make_use", "normalize"]

_DYNAMIC = re.compile(r"\$|\{\{|\{%")  # $VAR ${VAR} $(VAR) ${{ expr }} {{ template }} {% %}


def is_dynamic(text: str) -> bool:
    """Whether `text` still holds a variable or an expression no scanner here can resolve."""
    return _DYNAMIC.search(text) is not None


def normalize(text: str) -> str:
    """The normal form of an image reference; raise `InputError` for an invalid one."""
    ref = Reference.parse(text)
    registry = "docker.io" if ref.repository.registry == DOCKER_HUB else ref.repository.registry
    out = f"{registry}/{ref.repository.path}"
    if ref.tag is not None:
        out += f":{ref.tag}"
    if ref.digest is not None:
        out += f"@{ref.digest}"
    elif ref.tag is None:
        out += ":latest"
    return out


def make_use(
    *,
    file: str,
    line: int,
    text: str,
    source: str,
    kind: RefKind = RefKind.STATIC,
    note: str = "",
) -> ImageUse:
    """An ImageUse for `text`: DYNAMIC when it holds a variable, else normalised or invalid."""
    if kind is RefKind.DYNAMIC or is_dynamic(text):
        return ImageUse(
            file=file,
            line=line,
            text=text,
            image=None,
            kind=RefKind.DYNAMIC,
            source=source,
            note=note,
        )
    try:
        image: str | None = normalize(text)
    except InputError as exc:
        image = None
        note = f"{note}; {exc.what}" if note else exc.what
    return ImageUse(
        file=file, line=line, text=text, image=image, kind=kind, source=source, note=note
    )
