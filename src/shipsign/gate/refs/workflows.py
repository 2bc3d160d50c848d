"""GitHub Actions: workflow job containers, service containers, `docker://` steps, and
Docker container actions (`action.yml`).

A `${{ }}` expression cannot be resolved without a run: such a reference is DYNAMIC. An empty
string is not reported (GitHub then runs no container). `runs.image: Dockerfile` (or any
path) in an action is a local build, not a pulled image: not reported.
"""

from __future__ import annotations

from shipsign.gate.model import ImageUse
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yamlnodes import Map, Node, Scalar, entries, get, items, string

__all__ = ["scan_action", "scan_workflow"]

_DOCKER = "docker://"


def scan_workflow(file: str, docs: list[Node]) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for doc in docs:
        for job_id, _, job in entries(get(doc, "jobs")):
            if not isinstance(job, Map):
                continue
            container = get(job, "container")
            image = container if isinstance(container, Scalar) else get(container, "image")
            _add(uses, file, image, "workflow", f"jobs.{job_id}.container")
            for name, _, service in entries(get(job, "services")):
                image = service if isinstance(service, Scalar) else get(service, "image")
                _add(uses, file, image, "workflow", f"jobs.{job_id}.services.{name}")
            _steps(uses, file, get(job, "steps"), "workflow", f"jobs.{job_id}")
    return uses


def scan_action(file: str, docs: list[Node]) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for doc in docs:
        runs = get(doc, "runs")
        using = (string(get(runs, "using")) or "").strip().lower()
        image = get(runs, "image")
        text = string(image) or ""
        if using == "docker" and isinstance(image, Scalar) and text.startswith(_DOCKER):
            uses.append(
                make_use(
                    file=file,
                    line=image.line,
                    text=text[len(_DOCKER) :],
                    source="action",
                    note="runs.image (a Docker container action)",
                )
            )
        _steps(uses, file, get(runs, "steps"), "action", "runs")
    return uses


def _steps(uses: list[ImageUse], file: str, steps: Node | None, source: str, where: str) -> None:
    for number, step in enumerate(items(steps)):
        uses_node = get(step, "uses")
        text = string(uses_node) or ""
        if isinstance(uses_node, Scalar) and text.startswith(_DOCKER):
            uses.append(
                make_use(
                    file=file,
                    line=uses_node.line,
                    text=text[len(_DOCKER) :],
                    source=source,
                    note=f"{where}.steps[{number}].uses",
                )
            )


def _add(uses: list[ImageUse], file: str, node: Node | None, source: str, where: str) -> None:
    text = string(node)
    if not isinstance(node, Scalar) or not text or not text.strip():
        return
    uses.append(make_use(file=file, line=node.line, text=text.strip(), source=source, note=where))
