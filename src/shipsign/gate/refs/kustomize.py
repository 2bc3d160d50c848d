"""Kustomize: the images a kustomization deploys, after its `images:` transformers.

A kustomization is built the way `kustomize build` assembles it, as far as images go:
`resources` (and the older `bases`) are files or directories holding a kustomization, read
from the scanned root even when the change did not touch them, recursively; `components`
add their resources and apply their own `images:`; patch files (`patches[].path`,
`patchesStrategicMerge`) are read as objects too, since a patch can bring a container image.
Then each `images:` entry, in order, rewrites the image fields (containers, initContainers,
image volumes; not ephemeralContainers) whose name matches `name` exactly: `newName`
replaces the name, `newTag` and/or `digest` replace the tag and digest (both given: kustomize
writes `name:tag@digest`, so the digest is what is pulled).

Not read: inline patches (a patch written as a string in the kustomization) and `helmCharts`
(a FileProblem says so). A resource file changed on its own is scanned as plain objects: the
overlays that include it are not searched for.

Each image is reported at the line of the resource's image field, with the kustomization
entries that rewrote it in `note`. Remote resources (URLs, `github.com/...`) are never fetched:
a FileProblem says so, and the kustomization's `images:` entries that matched nothing are then
reported on their own, as HEURISTIC (DYNAMIC when the tag would come from the unread resource).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shipsign.gate.model import FileProblem, ImageUse, RefKind
from shipsign.gate.refs.files import Workspace, join_inside
from shipsign.gate.refs.limits import (
    KUSTOMIZE_DEPTH_MAX,
    KUSTOMIZE_FILES_MAX,
    KUSTOMIZE_SLOTS_MAX,
)
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yaml_k8s import Slot, image_slots, slot_note
from shipsign.gate.refs.yamlnodes import Map, Node, Scalar, YamlProblem, get, items, string

__all__ = [
    "KUSTOMIZATION_NAMES",
    "Build",
    "ImageEntry",
    "apply_images",
    "build_directory",
    "entry_uses",
    "image_entries",
    "is_kustomize_config",
    "scan_kustomization",
    "split_image",
]

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SOURCE = "kustomize"
_TRANSFORMED_FIELDS = frozenset({"containers", "initContainers", "volumes"})
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|git::|github\.com/|gitlab\.com/|bitbucket\.org/)"
)
_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """One `images:` entry and where it is written."""

    file: str
    line: int
    name: str
    new_name: str
    new_tag: str
    digest: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(slots=True)
class Build:
    """What a build gathered: image fields, and whether some input could not be read."""

    slots: list[Slot] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    incomplete: bool = False
    files_read: int = 0
    unmatched: list[ImageEntry] = field(default_factory=list)  # the top level's entries
    slot_count: int = 0
    capped: bool = False


def is_kustomize_config(doc: Node) -> bool:
    """A kustomize.config.k8s.io Kustomization or Component (apiVersion and kind optional)."""
    api = string(get(doc, "apiVersion")) or ""
    kind = string(get(doc, "kind")) or "Kustomization"
    return (
        isinstance(doc, Map)
        and (not api or api.startswith("kustomize.config.k8s.io/"))
        and (kind in ("Kustomization", "Component"))
    )


def split_image(text: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image as kustomize splits it; "" for what is absent."""
    rest, at, digest = text.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest if at else ""
    return rest, "", digest if at else ""


def image_entries(file: str, images: Node | None) -> list[ImageEntry]:
    out = []
    for item in items(images):
        name_node = get(item, "name")
        name = string(name_node)
        if not name:
            continue
        out.append(
            ImageEntry(
                file=file,
                line=name_node.line if isinstance(name_node, Scalar) else 0,
                name=name,
                new_name=string(get(item, "newName")) or "",
                new_tag=string(get(item, "newTag")) or "",
                digest=string(get(item, "digest")) or "",
            )
        )
    return out


def apply_images(slots: list[Slot], entries: list[ImageEntry]) -> list[ImageEntry]:
    """Rewrite the matching slots, entry by entry; return the entries that matched none.

    Linear: the slots are indexed by their current name, and a renamed slot moves in the
    index, so a later entry sees what an earlier one wrote (as kustomize applies them).
    """
    by_name: dict[str, list[Slot]] = {}
    for slot in slots:
        if slot.list_key in _TRANSFORMED_FIELDS:
            by_name.setdefault(split_image(slot.current)[0], []).append(slot)
    unmatched = []
    for entry in entries:
        matched = by_name.pop(entry.name, [])
        if not matched:
            unmatched.append(entry)
        for slot in matched:
            name, tag, digest = split_image(slot.current)
            if entry.new_name:
                name = entry.new_name
            if entry.new_tag or entry.digest:
                tag, digest = entry.new_tag, entry.digest
            new = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
            if new != slot.current:
                slot.current = new
                slot.transforms.append(entry.where)
            by_name.setdefault(name, []).append(slot)
    return unmatched


def entry_uses(entries: list[ImageEntry], source: str, why: str) -> list[ImageUse]:
    """`images:` entries reported on their own, when what they apply to is not known."""
    uses = []
    for entry in entries:
        name = entry.new_name or entry.name
        text = name + (f":{entry.new_tag}" if entry.new_tag else "")
        text += f"@{entry.digest}" if entry.digest else ""
        dynamic = not (entry.new_tag or entry.digest)
        uses.append(
            make_use(
                file=entry.file,
                line=entry.line,
                text=text,
                source=source,
                kind=RefKind.DYNAMIC if dynamic else RefKind.HEURISTIC,
                note=f"images: entry for {entry.name}; {why}"
                + ("; the tag is the resource's" if dynamic else ""),
            )
        )
    return uses


def _file_slots(file: str, docs: list[Node]) -> tuple[tuple[int, str, str], ...]:
    """(line, text, list key) of every image field in a file's objects."""
    return tuple(
        (slot.line, slot.written, slot.list_key) for doc in docs for slot in image_slots(file, doc)
    )


class _Builder:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.build = Build()
        self.active: list[str] = []
        self.entries_of: dict[str, list[ImageEntry]] = {}  # images: of each file built

    def problem(self, file: str, line: int, reason: str) -> None:
        self.build.problems.append(FileProblem(file=file, line=line, reason=reason))

    def _count_file(self, file: str, line: int, origin: str) -> bool:
        self.build.files_read += 1
        if self.build.files_read > KUSTOMIZE_FILES_MAX:
            if self.build.files_read == KUSTOMIZE_FILES_MAX + 1:
                self.problem(
                    origin, line, f"reads more than {KUSTOMIZE_FILES_MAX} files: the rest skipped"
                )
            self.build.incomplete = True
            return False
        return True

    def objects(self, file: str, origin: str, line: int) -> list[Slot]:
        """The image fields of the objects in one resource or patch file."""
        if not self._count_file(file, line, origin):
            return []
        docs = self.ws.load_yaml(file)
        if isinstance(docs, FileProblem):
            self.build.problems.append(docs)
            self.build.incomplete = True
            return []
        try:
            found = self.ws.derived(file, "slots", lambda: _file_slots(file, docs))
        except YamlProblem as exc:
            self.build.problems.append(FileProblem(file=file, line=exc.line, reason=exc.reason))
            self.build.incomplete = True
            return []
        self.build.slot_count += len(found)
        if self.build.slot_count > KUSTOMIZE_SLOTS_MAX:
            if not self.build.capped:
                self.build.capped = True
                self.problem(
                    origin,
                    line,
                    f"more than {KUSTOMIZE_SLOTS_MAX:,} image fields: the rest skipped",
                )
            self.build.incomplete = True
            return []
        return [Slot(file=file, line=n, written=w, list_key=k) for n, w, k in found]

    def directory(self, directory: str, origin: str, line: int, *, generate: bool) -> list[Slot]:
        """A directory's kustomization built; with `generate`, a directory without one is read
        as Flux reads it (every YAML file, recursively)."""
        for name in KUSTOMIZATION_NAMES:
            path = f"{directory}/{name}" if directory else name
            if self.ws.is_file(path):
                return self.kustomization(path, origin, line)
        if generate:
            return self.generated(directory, origin, line, 0)
        self.problem(origin, line, f"{directory or '.'}: no kustomization.yaml in this directory")
        self.build.incomplete = True
        return []

    def generated(self, directory: str, origin: str, line: int, depth: int) -> list[Slot]:
        slots: list[Slot] = []
        if depth > KUSTOMIZE_DEPTH_MAX:
            return slots
        for name in self.ws.listdir(directory):
            if self.build.files_read > KUSTOMIZE_FILES_MAX:
                break
            if name.startswith("."):
                continue  # .github, .git and other tool folders hold no manifests
            path = f"{directory}/{name}" if directory else name
            kind = self.ws.kind(path)
            if kind == "dir" and self.ws.is_file(f"{path}/Chart.yaml"):
                continue  # a Helm chart's templates are not manifests
            if kind == "dir":
                if any(self.ws.is_file(f"{path}/{k}") for k in KUSTOMIZATION_NAMES):
                    slots.extend(self.directory(path, origin, line, generate=False))
                else:
                    slots.extend(self.generated(path, origin, line, depth + 1))
            elif kind == "file" and name.endswith(_YAML_SUFFIXES):
                slots.extend(self.objects(path, origin, line))
        return slots

    def kustomization(self, path: str, origin: str, line: int) -> list[Slot]:
        """Build one kustomization file: its image fields with its own transformers applied."""
        if path in self.active:
            self.problem(origin, line, f"kustomizations include each other: {path}")
            return []
        if len(self.active) >= KUSTOMIZE_DEPTH_MAX:
            self.problem(origin, line, f"kustomizations nested deeper than {KUSTOMIZE_DEPTH_MAX}")
            self.build.incomplete = True
            return []
        if not self._count_file(path, line, origin):
            return []
        docs = self.ws.load_yaml(path)
        if isinstance(docs, FileProblem):
            self.build.problems.append(docs)
            self.build.incomplete = True
            return []
        doc = docs[0] if docs else None
        if doc is None or not is_kustomize_config(doc):
            self.problem(path, 0, "not a kustomize Kustomization: skipped")
            self.build.incomplete = True
            return []
        self.active.append(path)
        try:
            return self._assemble(path, doc)
        finally:
            self.active.pop()

    def _assemble(self, path: str, doc: Node) -> list[Slot]:
        directory = path.rpartition("/")[0]
        slots: list[Slot] = []
        for key in ("resources", "bases"):
            for item in items(get(doc, key)):
                slots.extend(self._resource(directory, path, item, component=False))
        for item in items(get(doc, "patchesStrategicMerge")):
            text = string(item) or ""
            if "\n" not in text:  # an inline patch is a multi-line string: not read
                slots.extend(self._resource(directory, path, item, component=False))
        for patch in items(get(doc, "patches")):
            target = get(patch, "path")
            if target is not None:
                slots.extend(self._resource(directory, path, target, component=False))
        for item in items(get(doc, "components")):
            # a component's own resources get its images: when it is built; the resources
            # gathered so far get them too (that is what a component is for)
            component, entries = self._component(directory, path, item)
            apply_images(slots, entries)
            slots.extend(component)
        charts = items(get(doc, "helmCharts"))
        if charts:
            self.problem(
                path,
                charts[0].line,
                "helmCharts: charts kustomize inflates are not rendered here; their images "
                "are not reported",
            )
            self.build.incomplete = True
        entries = image_entries(path, get(doc, "images"))
        self.entries_of[path] = entries
        unmatched = apply_images(slots, entries)
        if len(self.active) == 1:
            self.build.unmatched = unmatched
        return slots

    def _component(
        self, directory: str, origin: str, item: Node
    ) -> tuple[list[Slot], list[ImageEntry]]:
        """A component's image fields, and its `images:` entries for the parent's fields."""
        slots = self._resource(directory, origin, item, component=True)
        target = join_inside(directory, (string(item) or "").strip())
        for name in KUSTOMIZATION_NAMES if target is not None else ():
            path = f"{target}/{name}" if target else name
            if path in self.entries_of:
                return slots, self.entries_of[path]
        return slots, []

    def _resource(self, directory: str, origin: str, item: Node, *, component: bool) -> list[Slot]:
        text = (string(item) or "").strip()
        line = item.line if isinstance(item, Scalar) else 0
        if not text:
            return []
        if _REMOTE.match(text):
            self.problem(
                origin,
                line,
                f"remote resource {text}: not fetched (the gate reads only the repository)",
            )
            self.build.incomplete = True
            return []
        target = join_inside(directory, text)
        if target is None:
            self.problem(origin, line, f"resource {text} is outside the scanned root: not read")
            self.build.incomplete = True
            return []
        kind = self.ws.kind(target)
        if kind == "dir":
            return self.directory(target, origin, line, generate=False)
        if kind == "file" and not component:
            return self.objects(target, origin, line)
        if kind == "outside":
            self.problem(
                origin, line, f"resource {text} links outside the scanned root: not followed"
            )
        else:
            self.problem(origin, line, f"resource {text} not found")
        self.build.incomplete = True
        return []


def build_directory(ws: Workspace, directory: str, origin: str, line: int) -> Build:
    """Build what Flux would build at `directory` (its kustomization, or every YAML file)."""
    builder = _Builder(ws)
    builder.build.slots = builder.directory(directory, origin, line, generate=True)
    return builder.build


def scan_kustomization(ws: Workspace, path: str) -> tuple[list[ImageUse], list[FileProblem]]:
    """Every image the kustomization at `path` deploys, transformed by its `images:`."""
    builder = _Builder(ws)
    slots = builder.kustomization(path, path, 0)
    build = builder.build
    uses = []
    for slot in slots:
        if slot.transforms:
            note = f"{slot_note(slot)}; from kustomize images: in {', '.join(slot.transforms)}"
        else:
            note = f"{slot_note(slot)}; in the build of {path}"
        uses.append(
            make_use(file=slot.file, line=slot.line, text=slot.current, source=SOURCE, note=note)
        )
    if build.incomplete:
        why = "some resources of this kustomization were not read"
        uses.extend(entry_uses(build.unmatched, SOURCE, why))
    return uses, build.problems
