"""The entry point: which scanner reads which file, and one sorted, de-duplicated result.

By name and place: `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*` are
Dockerfiles; `docker-compose*.y(a)ml` and `compose*.y(a)ml` Compose files;
`.github/workflows/*.y(a)ml` workflows; `action.y(a)ml` actions; `kustomization.yaml` (`.yml`,
`Kustomization`) kustomizations; any YAML or `.tpl` file in a directory with a `Chart.yaml`
(the nearest one above it) makes that chart scanned, once; any other `.yaml`/`.yml` file is
read as Kubernetes and Flux objects (documents with a `kind`). Other files are not read.

A file's problem (too large, binary, not YAML, a link out of the root...) is a FileProblem for
that file and the scan goes on. `files_scanned` counts the given files some scanner applied to.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from shipsign.gate.model import FileProblem, ImageUse, ScanResult
from shipsign.gate.refs.compose import scan_compose
from shipsign.gate.refs.dockerfile import scan_dockerfile
from shipsign.gate.refs.dotenv import parse_dotenv
from shipsign.gate.refs.files import Workspace, join_inside
from shipsign.gate.refs.flux import flux_kind, scan_flux
from shipsign.gate.refs.helm import scan_chart
from shipsign.gate.refs.kustomize import (
    KUSTOMIZATION_NAMES,
    is_kustomize_config,
    scan_kustomization,
)
from shipsign.gate.refs.workflows import scan_action, scan_workflow
from shipsign.gate.refs.yaml_k8s import kind_of, scan_kubernetes
from shipsign.gate.refs.yamlnodes import Map, Node, YamlProblem

__all__ = ["HELM_ON_PATH", "classify", "scan_files"]

HELM_ON_PATH = "helm"
_COMPOSE = re.compile(r"(?:docker-)?compose[^/]*\.ya?ml")
_WORKFLOW = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
_YAML = (".yaml", ".yml")
_INDIRECT = frozenset({"kustomize", "flux-kustomization"})  # found through another file


def scan_files(
    root: Path,
    files: Sequence[str] | None = None,
    *,
    helm_binary: str | None = HELM_ON_PATH,
) -> ScanResult:
    """Every image reference in `files` (relative to `root`; None: every file under it).

    `helm_binary` is the `helm` to render local charts with: a name looked up on PATH (the
    default, "helm"), a path, or None for the values convention only.
    """
    ws = Workspace(root)
    helm = shutil.which(helm_binary) if helm_binary else None
    uses: list[ImageUse] = []
    problems: list[FileProblem] = []
    scanned = 0
    charts_done: set[str] = set()
    for rel, problem in _with_compose_of_dotenv(ws, _inputs(ws, files)):
        if problem is not None:
            problems.append(problem)
            continue
        scanner, key = classify(ws, rel)
        if not scanner:
            continue
        scanned += 1
        if scanner == "chart":
            if key not in charts_done:
                charts_done.add(key)
                found, trouble, _ = scan_chart(ws, key, helm)
                uses.extend(found)
                problems.extend(trouble)
            continue
        try:
            found, trouble = _scan_one(ws, rel, scanner)
        except YamlProblem as exc:
            found, trouble = [], [FileProblem(file=rel, line=exc.line, reason=exc.reason)]
        except Exception as exc:  # a scanner bug must not hide the other files' findings
            reason = f"the {scanner} scanner failed: {type(exc).__name__}: {exc}"
            found, trouble = [], [FileProblem(file=rel, reason=reason[:500])]
        uses.extend(found)
        problems.extend(trouble)
    return ScanResult(
        uses=_dedupe(uses), problems=_dedupe_problems(problems), files_scanned=scanned
    )


def _inputs(ws: Workspace, files: Sequence[str] | None) -> list[tuple[str, FileProblem | None]]:
    if files is None:
        return [(rel, None) for rel in _walk(ws.root)]
    out: list[tuple[str, FileProblem | None]] = []
    for given in files:
        rel = join_inside("", given.replace(os.sep, "/"))
        if rel is None or rel == "":
            out.append((given, FileProblem(file=given, reason="outside the scanned root: skipped")))
        elif rel != ".git" and not rel.startswith(".git/"):
            out.append((rel, None))
    return sorted(set(out), key=lambda pair: pair[0])


def _walk(root: Path) -> list[str]:
    found = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        base = Path(directory).relative_to(root).as_posix()
        for name in filenames:
            found.append(name if base == "." else f"{base}/{name}")
    return sorted(found)


def classify(ws: Workspace, rel: str) -> tuple[str, str]:
    """(scanner, key) for a file: the key is the chart directory for "chart", else the file.
    ("", "") when no scanner reads it."""
    name = rel.rpartition("/")[2]
    lower = name.lower()
    if _is_dockerfile(lower):
        return "dockerfile", rel
    if _WORKFLOW.fullmatch(rel):
        return "workflow", rel
    if lower in ("action.yml", "action.yaml"):
        return "action", rel
    if _COMPOSE.fullmatch(lower):
        return "compose", rel
    if name in KUSTOMIZATION_NAMES:
        return "kustomization", rel
    if lower.endswith((*_YAML, ".tpl")) or name in ("Chart.lock", "values.schema.json"):
        chart = _chart_of(ws, rel)
        if chart is not None:
            return "chart", chart
    if lower.endswith(_YAML):
        return "yaml", rel
    return "", ""


def _is_dockerfile(lower: str) -> bool:
    if lower.endswith(".dockerignore"):
        return False
    return (
        lower in ("dockerfile", "containerfile")
        or lower.endswith((".dockerfile", ".containerfile"))
        or lower.startswith(("dockerfile.", "containerfile."))
    )


def _chart_of(ws: Workspace, rel: str) -> str | None:
    directory = rel.rpartition("/")[0]
    while True:
        if ws.is_file(f"{directory}/Chart.yaml" if directory else "Chart.yaml"):
            return directory
        if not directory:
            return None
        directory = directory.rpartition("/")[0]


def _scan_one(ws: Workspace, rel: str, scanner: str) -> tuple[list[ImageUse], list[FileProblem]]:
    if scanner == "dockerfile":
        text = ws.read_text(rel)
        if isinstance(text, FileProblem):
            return [], [text]
        return scan_dockerfile(rel, text)
    docs = ws.load_yaml(rel)
    if isinstance(docs, FileProblem):
        return [], [docs]
    if scanner == "workflow":
        return scan_workflow(rel, docs), []
    if scanner == "action":
        return scan_action(rel, docs), []
    if scanner == "compose":
        dotenv, trouble = _dotenv_beside(ws, rel)
        return scan_compose(rel, docs, dotenv), trouble
    if scanner == "kustomization" and docs and is_kustomize_config(docs[0]):
        return scan_kustomization(ws, rel)
    return _objects(ws, rel, docs)


def _dotenv_beside(
    ws: Workspace, rel: str
) -> tuple[dict[str, str | None] | None, list[FileProblem]]:
    """What the `.env` in a Compose file's directory sets (Compose's project directory)."""
    directory = rel.rpartition("/")[0]
    env = f"{directory}/.env" if directory else ".env"
    if ws.kind(env) == "missing":
        return None, []
    text = ws.read_text(env)  # a link out of the repository or a directory: a problem
    if isinstance(text, FileProblem):
        return None, [text]
    return ws.derived(env, "dotenv", lambda: parse_dotenv(text)), []


def _with_compose_of_dotenv(
    ws: Workspace, inputs: list[tuple[str, FileProblem | None]]
) -> list[tuple[str, FileProblem | None]]:
    """A changed `.env` changes what the Compose files beside it pull: scan them too."""
    extra = []
    for rel, problem in inputs:
        directory, _, name = rel.rpartition("/")
        if problem is not None or name != ".env":
            continue
        for entry in ws.listdir(directory):
            if _COMPOSE.fullmatch(entry.lower()):
                extra.append((f"{directory}/{entry}" if directory else entry, None))
    return sorted(set(inputs) | set(extra), key=lambda pair: pair[0])


def _objects(ws: Workspace, rel: str, docs: list[Node]) -> tuple[list[ImageUse], list[FileProblem]]:
    uses: list[ImageUse] = []
    problems: list[FileProblem] = []
    for doc in docs:
        if not isinstance(doc, Map) or not kind_of(doc)[1]:
            continue  # not a Kubernetes object (some other YAML file)
        if flux_kind(doc):
            found, trouble = scan_flux(ws, rel, doc)
            uses.extend(found)
            problems.extend(trouble)
        else:
            uses.extend(scan_kubernetes(rel, doc))
    return uses, problems


def _dedupe(uses: list[ImageUse]) -> tuple[ImageUse, ...]:
    """Sorted by place; the same text at the same place once (a direct finding wins over the
    same one found through a kustomization)."""
    ordered = sorted(
        uses,
        key=lambda u: (
            u.file,
            u.line,
            u.text,
            u.kind.value,
            u.source in _INDIRECT,
            u.source,
            u.note,
        ),
    )
    out: list[ImageUse] = []
    seen: set[tuple[str, int, str, str]] = set()
    for use in ordered:
        key = (use.file, use.line, use.text, use.kind.value)
        if key not in seen:
            seen.add(key)
            out.append(use)
    return tuple(out)


def _dedupe_problems(problems: list[FileProblem]) -> tuple[FileProblem, ...]:
    unique = {(p.file, p.line, p.reason): p for p in problems}
    return tuple(unique[k] for k in sorted(unique))
