"""Helm charts (a directory with Chart.yaml) and the Helm values convention.

With a `helm` binary, a local chart is rendered by `helm template` (never `--dependency-update`:
a chart whose dependencies are not vendored in `charts/` fails, and no network is used; only a
directory inside the scanned root is ever passed, so no remote chart is pulled), with its
default values and once more with each `values-*.yaml` beside it. The rendered objects are
scanned as Kubernetes objects and attributed to the template named by helm's `# Source:`
comment; the line is the template's `image:` line when the template has exactly as many of
them as the rendered document has images, else 0.

Without helm (or when it fails, which is then a FileProblem), the values convention is read,
as RefKind.HEURISTIC: every `image:` key at any depth of the chart's `values*.yaml` that is a
string, or a mapping `{registry, repository, tag, digest}` (`global.imageRegistry` overrides
`registry`; a digest wins over the tag; no tag means the chart's `appVersion`). Templates are
read line by line for a literal `image: name:tag` (HEURISTIC too); templated ones
(`image: "{{ ... }}"`) are what the values describe, and are reported as DYNAMIC only when the
values named no image at all. Flux HelmRelease `spec.values` use the same convention.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shipsign.gate.model import FileProblem, ImageUse, RefKind
from shipsign.gate.refs.files import Workspace
from shipsign.gate.refs.limits import (
    HELM_OUTPUT_MAX_BYTES,
    HELM_TIMEOUT_SECONDS,
    HELM_VALUES_FILES_MAX,
    KUSTOMIZE_FILES_MAX,
    YAML_NODES_MAX,
)
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yaml_k8s import image_slots, slot_note
from shipsign.gate.refs.yamlnodes import (
    Map,
    Node,
    Scalar,
    Seq,
    YamlProblem,
    compose_documents,
    entries,
    get,
    string,
)

__all__ = ["is_values_file", "scan_chart", "values_uses"]

SOURCE = "helm"
_VALUES = re.compile(r"values(?:[-._][A-Za-z0-9_.-]+)?\.ya?ml")
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl")
_IMAGE_LINE = re.compile(r"^\s*(?:-\s+)?image:\s*(?P<value>\S.*?)\s*$")
_SOURCE_LINE = re.compile(r"^# Source: (?P<path>.+?)\s*$")


def is_values_file(name: str) -> bool:
    return _VALUES.fullmatch(name) is not None


# values convention


def _image_maps(root: Node) -> Iterator[tuple[str, Map]]:
    """(path, mapping) of every mapping under `root`, depth first, with a bounded walk."""
    stack: list[tuple[str, Node]] = [("", root)]
    budget = YAML_NODES_MAX
    while stack:
        path, node = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlProblem(f"YAML expands to more than {YAML_NODES_MAX:,} nodes: skipped")
        if isinstance(node, Map):
            yield path, node
            children = [(f"{path}.{k}" if path else k, v) for k, _, v in entries(node)]
            stack.extend(reversed(children))
        elif isinstance(node, Seq):
            stack.extend(reversed([(f"{path}[{i}]", v) for i, v in enumerate(node.items)]))


def values_uses(
    file: str,
    doc: Node,
    *,
    source: str,
    app_version: str | None,
    where: str = "values",
    defaults: Node | None = None,
) -> list[ImageUse]:
    """The images a values tree names by the `image:` convention (HEURISTIC or DYNAMIC).

    `app_version` is the chart's appVersion (the tag when none is given); None when the chart
    is not known (a HelmRelease), and a missing tag then makes the reference DYNAMIC.
    `defaults` is the chart's values.yaml when `doc` is another values file that overrides it:
    a field an override leaves out (`image.repository` when only `image.tag` is set) is taken
    from the same place in the defaults.
    """
    global_node = get(doc, "global", "imageRegistry")
    if global_node is None:
        global_node = get(defaults, "global", "imageRegistry")
    global_registry = (string(global_node) or "").strip()
    default_maps = dict(_image_maps(defaults)) if defaults is not None else {}
    uses: list[ImageUse] = []
    for path, mapping in _image_maps(doc):
        for key, _, value in entries(mapping):
            if key != "image":
                continue
            name = f"{where} {path}.image" if path else f"{where} image"
            if isinstance(value, Scalar):
                text = (string(value) or "").strip()
                if text:
                    uses.append(
                        make_use(
                            file=file,
                            line=value.line,
                            text=text,
                            source=source,
                            kind=RefKind.HEURISTIC,
                            note=name,
                        )
                    )
            elif isinstance(value, Map):
                fallback = get(default_maps.get(path), "image") if defaults is not None else None
                fields = _image_fields(value, fallback if isinstance(fallback, Map) else None)
                use = _image_map(file, value, fields, source, name, global_registry, app_version)
                if use is not None:
                    uses.append(use)
    return uses


_FIELDS = ("registry", "repository", "tag", "digest")


def _image_fields(image: Map, fallback: Map | None) -> dict[str, tuple[str, Scalar | None]]:
    """Each field's (text, node if written in `image`): from `image`, else from `fallback`."""
    out: dict[str, tuple[str, Scalar | None]] = {}
    for name in _FIELDS:
        node = get(image, name)
        if node is not None:
            text = (string(node) or "").strip()
            out[name] = (text, node if isinstance(node, Scalar) else None)
        else:
            out[name] = ((string(get(fallback, name)) or "").strip(), None)
    return out


def _image_map(
    file: str,
    image: Map,
    fields: dict[str, tuple[str, Scalar | None]],
    source: str,
    name: str,
    global_registry: str,
    app_version: str | None,
) -> ImageUse | None:
    repository, repository_node = fields["repository"]
    tag, tag_node = fields["tag"]
    digest, digest_node = fields["digest"]
    registry = global_registry or fields["registry"][0]
    if not repository:
        if not (tag or digest):
            return None
        node = digest_node if digest else tag_node
        return make_use(
            file=file,
            line=node.line if node is not None else image.line,
            text="(chart default)" + (f"@{digest}" if digest else f":{tag}"),
            source=source,
            kind=RefKind.DYNAMIC,
            note=f"{name}: the repository is the chart's default",
        )
    full = f"{registry.rstrip('/')}/{repository}" if registry else repository
    kind = RefKind.HEURISTIC
    if digest:
        text, node, note = f"{full}@{digest}", digest_node, name
    elif tag:
        text, node, note = f"{full}:{tag}", tag_node, name
    elif app_version:
        text, node = f"{full}:{app_version}", repository_node
        note = f"{name}: no tag, the chart's appVersion"
    else:
        text, node, kind = full, repository_node, RefKind.DYNAMIC
        note = f"{name}: no tag here, the chart decides it"
    return make_use(
        file=file,
        line=node.line if node is not None else image.line,
        text=text,
        source=source,
        kind=kind,
        note=note,
    )


# charts


def _chart_files(ws: Workspace, chart: str) -> tuple[list[str], list[str]]:
    """(values files, template files) of a chart, sorted; subcharts are charts of their own."""
    values = [
        f"{chart}/{n}" if chart else n
        for n in ws.listdir(chart)
        if is_values_file(n) and ws.is_file(f"{chart}/{n}" if chart else n)
    ]
    templates: list[str] = []
    pending = [f"{chart}/templates" if chart else "templates"]
    while pending and len(templates) < KUSTOMIZE_FILES_MAX:
        directory = pending.pop()
        for name in ws.listdir(directory):
            path = f"{directory}/{name}"
            kind = ws.kind(path)
            if kind == "dir":
                pending.append(path)
            elif kind == "file" and name.endswith(_TEMPLATE_SUFFIXES):
                templates.append(path)
    return values, sorted(templates)


def _app_version(ws: Workspace, chart_yaml: str) -> tuple[str | None, FileProblem | None]:
    docs = ws.load_yaml(chart_yaml)
    if isinstance(docs, FileProblem):
        return None, docs
    version = string(get(docs[0], "appVersion")) if docs else None
    return (version.strip() or None) if version else None, None


def scan_chart(
    ws: Workspace, chart: str, helm_binary: str | None
) -> tuple[list[ImageUse], list[FileProblem], int]:
    """The images of the chart in directory `chart`; also how many files were read."""
    chart_yaml = f"{chart}/Chart.yaml" if chart else "Chart.yaml"
    values, templates = _chart_files(ws, chart)
    problems: list[FileProblem] = []
    if helm_binary:
        rendered = _links_out(ws, chart, chart_yaml) or _render(
            ws, chart, chart_yaml, values, helm_binary
        )
        if isinstance(rendered, FileProblem):
            problems.append(rendered)
        else:
            return rendered[0], rendered[1], 1 + len(values) + len(templates)
    app_version, problem = _app_version(ws, chart_yaml)
    if problem is not None:
        problems.append(problem)
    uses: list[ImageUse] = []
    default_file = f"{chart}/values.yaml" if chart else "values.yaml"
    default_docs = ws.load_yaml(default_file) if default_file in values else []
    defaults = default_docs[0] if isinstance(default_docs, list) and default_docs else None
    for file in values:
        docs = ws.load_yaml(file)
        if isinstance(docs, FileProblem):
            problems.append(docs)
            continue
        try:
            for doc in docs:
                uses.extend(
                    values_uses(
                        file,
                        doc,
                        source=SOURCE,
                        app_version=app_version,
                        defaults=None if file == default_file else defaults,
                    )
                )
        except YamlProblem as exc:
            problems.append(FileProblem(file=file, line=exc.line, reason=exc.reason))
    templated: list[ImageUse] = []
    for file in templates:
        text = ws.read_text(file)
        if isinstance(text, FileProblem):
            problems.append(text)
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = _IMAGE_LINE.match(line)
            if match is None:
                continue
            value = match.group("value").split(" #", 1)[0].strip().strip("\"'")
            if not value or value in ("{}", "|", ">"):
                continue
            use = make_use(
                file=file,
                line=number,
                text=value,
                source=SOURCE,
                kind=RefKind.HEURISTIC,
                note="a literal image: in a template",
            )
            (templated if use.kind is RefKind.DYNAMIC else uses).append(use)
    if not uses:
        uses.extend(templated)  # no value names an image: say what the templates build
    return uses, problems, 1 + len(values) + len(templates)


def _links_out(ws: Workspace, chart: str, chart_yaml: str) -> FileProblem | None:
    """Why helm must not read this chart: a symbolic link in it that leaves the root (helm
    follows links), or too many files to check; None when it is safe."""
    seen = 0
    base = ws.root / chart if chart else ws.root
    for directory, dirnames, filenames in os.walk(base, followlinks=False):
        for name in (*dirnames, *filenames):
            seen += 1
            if seen > KUSTOMIZE_FILES_MAX * 10:
                return FileProblem(
                    file=chart_yaml, reason="too many files to render safely: not rendered"
                )
            path = Path(directory) / name
            if path.is_symlink() and ws.kind(path.relative_to(ws.root).as_posix()) == "outside":
                return FileProblem(
                    file=chart_yaml,
                    reason=(
                        f"{path.relative_to(ws.root).as_posix()} links outside the scanned "
                        "root: not rendered by helm; the values convention was used"
                    ),
                )
    return None


def _render(
    ws: Workspace, chart: str, chart_yaml: str, values: list[str], helm: str
) -> tuple[list[ImageUse], list[FileProblem]] | FileProblem:
    default = f"{chart}/values.yaml" if chart else "values.yaml"
    extra = [v for v in values if v != default][:HELM_VALUES_FILES_MAX]
    uses: list[ImageUse] = []
    problems: list[FileProblem] = []
    for values_file in [None, *extra]:
        output, error = _helm_template(ws, chart, helm, values_file)
        if error:
            return FileProblem(
                file=chart_yaml,
                reason=f"helm template failed ({error}); the values convention was used",
            )
        label = "helm template" + (f" -f {values_file.rpartition('/')[2]}" if values_file else "")
        found, trouble = _rendered_uses(ws, chart, output, label)
        uses.extend(found)
        problems.extend(trouble)
    return uses, problems


def _helm_template(
    ws: Workspace, chart: str, helm: str, values_file: str | None
) -> tuple[str, str]:
    """(helm's output, "") or ("", why it failed)."""
    chart_dir = ws.root / chart if chart else ws.root
    with tempfile.TemporaryDirectory(prefix="shipsign-helm-") as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "HELM_CACHE_HOME": f"{home}/cache",
            "HELM_CONFIG_HOME": f"{home}/config",
            "HELM_DATA_HOME": f"{home}/data",
            "HELM_PLUGINS": f"{home}/plugins",
            "KUBECONFIG": f"{home}/no-kubeconfig",
        }
        command = [helm, "template", "release", str(chart_dir), "--namespace", "default"]
        if values_file is not None:
            command += ["--values", str(ws.root / values_file)]
        out_path = Path(home) / "out.yaml"
        try:
            with open(out_path, "wb") as out:
                done = subprocess.run(  # noqa: S603 - a fixed argv, no shell
                    command,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    timeout=HELM_TIMEOUT_SECONDS,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            return "", f"no answer within {HELM_TIMEOUT_SECONDS:.0f} s"
        except OSError as exc:
            return "", f"{exc.strerror or exc}"
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            return "", lines[-1][:300] if lines else f"exit code {done.returncode}"
        size = out_path.stat().st_size
        if size > HELM_OUTPUT_MAX_BYTES:
            return "", f"rendered more than {HELM_OUTPUT_MAX_BYTES // (1024 * 1024)} MiB"
        return out_path.read_text(encoding="utf-8", errors="replace"), ""


def _chunks(output: str) -> Iterator[tuple[str, str]]:
    """(template path as helm names it, document text) for each rendered document."""
    source = ""
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith("---"):
            if lines:
                yield source, "\n".join(lines)
            source, lines = "", []
            continue
        match = _SOURCE_LINE.match(line)
        if match is not None and not lines:
            source = match.group("path")
        lines.append(line)
    if lines:
        yield source, "\n".join(lines)


def _rendered_uses(
    ws: Workspace, chart: str, output: str, label: str
) -> tuple[list[ImageUse], list[FileProblem]]:
    uses: list[ImageUse] = []
    problems: list[FileProblem] = []
    chart_yaml = f"{chart}/Chart.yaml" if chart else "Chart.yaml"
    for source, text in _chunks(output):
        inside = source.partition("/")[2]  # "<chart name>/templates/x.yaml"
        file = (f"{chart}/{inside}" if chart else inside) if inside else chart_yaml
        try:
            docs = compose_documents(text)
        except YamlProblem as exc:
            problems.append(FileProblem(file=file, reason=f"rendered by helm: {exc.reason}"))
            continue
        slots = [slot for doc in docs for slot in image_slots(file, doc)]
        lines = _template_image_lines(ws, file) if slots else []
        for index, slot in enumerate(slots):
            line = lines[index] if len(lines) == len(slots) else 0
            uses.append(
                make_use(
                    file=file,
                    line=line,
                    text=slot.written,
                    source=SOURCE,
                    note=f"{slot_note(slot)}; rendered by {label}",
                )
            )
    return uses, problems


def _template_image_lines(ws: Workspace, file: str) -> list[int]:
    text = ws.read_text(file)
    if isinstance(text, FileProblem):
        return []
    return [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if _IMAGE_LINE.match(line) is not None
    ]
