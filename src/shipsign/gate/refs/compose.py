"""Docker Compose files: the images services pull.

`services.<name>.image`, with variables interpolated as Compose does: from the `.env` file in
the Compose file's directory when there is one (`dotenv.py`), else `${VAR:-default}` and
`${VAR-default}` take their default and `$VAR` / `${VAR}` (then set only by the environment)
make the reference dynamic. The environment of the run is not known here; where it sets a
variable `.env` sets too, it wins, as in Compose, and the note says `.env` was applied. A
service that has `build:` as well names the image the build *produces* under `image:`, not one
it pulls: it is not reported (its Dockerfile is scanned on its own). Images a build pulls as a
named context (`build.additional_contexts: {name: docker-image://IMAGE}`) are reported. Merge
keys (`<<: *defaults`) are followed, and the line is where the text is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from shipsign.gate.model import ImageUse, RefKind
from shipsign.gate.refs.interpolate import expand
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yamlnodes import Map, Node, Scalar, entries, get, items, string

__all__ = ["scan_compose"]

SOURCE = "compose"
_DOCKER_IMAGE = "docker-image://"


def scan_compose(
    file: str, docs: list[Node], dotenv: Mapping[str, str | None] | None = None
) -> list[ImageUse]:
    """The images `file`'s services pull; `dotenv` holds what its `.env` sets (None: none)."""
    variables = dotenv or {}
    uses: list[ImageUse] = []
    for doc in docs:
        for name, _, service in entries(get(doc, "services")):
            if not isinstance(service, Map):
                continue
            build = get(service, "build")
            image = get(service, "image")
            if build is None or (isinstance(build, Scalar) and build.is_null):
                if isinstance(image, Scalar) and string(image):
                    uses.append(_use(file, image, image.value, f"service {name}", variables))
                continue
            for context in _contexts(get(build, "additional_contexts")):
                if not isinstance(context, Scalar):
                    continue
                value = string(context) or ""
                ref = value if value.startswith(_DOCKER_IMAGE) else value.partition("=")[2]
                if ref.startswith(_DOCKER_IMAGE):
                    where = f"service {name}: build.additional_contexts"
                    written = ref[len(_DOCKER_IMAGE) :]
                    uses.append(_use(file, context, written, where, variables))
    return uses


def _contexts(node: Node | None) -> list[Node]:
    if isinstance(node, Map):
        return [value for _, _, value in entries(node)]
    return items(node)  # the list form: `- name=docker-image://...`


def _use(
    file: str, node: Scalar, written: str, where: str, variables: Mapping[str, str | None]
) -> ImageUse:
    used_dotenv: list[str] = []

    def lookup(name: str) -> str | None:
        value = variables.get(name)
        if value is not None:
            used_dotenv.append(name)
        return value

    resolved = expand(written, lookup, dollar_dollar=True)
    if resolved is None:
        return make_use(
            file=file,
            line=node.line,
            text=written,
            source=SOURCE,
            kind=RefKind.DYNAMIC,
            note=f"{where}: a variable that neither a default nor .env sets",
        )
    if used_dotenv:
        note = f"{where}, {', '.join(sorted(set(used_dotenv)))} from .env"
    else:
        note = where if resolved == written else f"{where}, variable defaults applied"
    return make_use(file=file, line=node.line, text=resolved, source=SOURCE, note=note)
