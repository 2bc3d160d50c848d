"""Docker Compose files: the images services pull.

`services.<name>.image`, with `${VAR:-default}` and `${VAR-default}` taking their default and
`$VAR` / `${VAR}` (set only by the environment or `.env`) making the reference dynamic. A
service that has `build:` as well names the image the build *produces* under `image:`, not one
it pulls: it is not reported (its Dockerfile is scanned on its own). Images a build pulls as a
named context (`build.additional_contexts: {name: docker-image://IMAGE}`) are reported. Merge
keys (`<<: *defaults`) are followed, and the line is where the text is written.
"""

from __future__ import annotations

from shipsign.gate.model import ImageUse, RefKind
from shipsign.gate.refs.interpolate import expand
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yamlnodes import Map, Node, Scalar, entries, get, items, string

__all__ = ["scan_compose"]

SOURCE = "compose"
_DOCKER_IMAGE = "docker-image://"


def _environment(_: str) -> str | None:
    return None  # the scanner does not read the environment nor `.env`


def scan_compose(file: str, docs: list[Node]) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for doc in docs:
        for name, _, service in entries(get(doc, "services")):
            if not isinstance(service, Map):
                continue
            build = get(service, "build")
            image = get(service, "image")
            if build is None or (isinstance(build, Scalar) and build.is_null):
                if isinstance(image, Scalar) and string(image):
                    uses.append(_use(file, image, image.value, f"service {name}"))
                continue
            for context in _contexts(get(build, "additional_contexts")):
                if not isinstance(context, Scalar):
                    continue
                value = string(context) or ""
                ref = value if value.startswith(_DOCKER_IMAGE) else value.partition("=")[2]
                if ref.startswith(_DOCKER_IMAGE):
                    where = f"service {name}: build.additional_contexts"
                    uses.append(_use(file, context, ref[len(_DOCKER_IMAGE) :], where))
    return uses


def _contexts(node: Node | None) -> list[Node]:
    if isinstance(node, Map):
        return [value for _, _, value in entries(node)]
    return items(node)  # the list form: `- name=docker-image://...`


def _use(file: str, node: Scalar, written: str, where: str) -> ImageUse:
    resolved = expand(written, _environment, dollar_dollar=True)
    if resolved is None:
        return make_use(
            file=file,
            line=node.line,
            text=written,
            source=SOURCE,
            kind=RefKind.DYNAMIC,
            note=f"{where}: a variable without a default",
        )
    note = where if resolved == written else f"{where}, variable defaults applied"
    return make_use(file=file, line=node.line, text=resolved, source=SOURCE, note=note)
