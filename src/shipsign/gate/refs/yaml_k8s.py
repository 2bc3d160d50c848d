"""Kubernetes objects: the image fields of any workload, in any document of any YAML file.

Rather than a table of kinds and paths (Pod `spec`, workloads `spec.template.spec`, CronJob
`spec.jobTemplate.spec.template.spec`, `kind: List` `items[]`), every `containers`,
`initContainers` and `ephemeralContainers` list at any depth is read, as kustomize's image
filter does; this also covers custom resources (Argo Rollouts, Knative, Tekton...). So is every
`volumes[].image.reference` (image volumes). CustomResourceDefinitions are skipped: their
schemas describe containers, they do not run any.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipsign.gate.model import ImageUse, RefKind
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yamlnodes import Node, Scalar, Seq, entries, get, string, walk_maps

__all__ = ["CONTAINER_LISTS", "Slot", "image_slots", "kind_of", "scan_kubernetes"]

SOURCE = "kubernetes"
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(slots=True)
class Slot:
    """One image field of one object: where it is written and what it holds after any kustomize
    `images:` transformers (`current`; `transforms` says which ones changed it)."""

    file: str
    line: int
    written: str
    list_key: str  # containers, initContainers, ephemeralContainers or volumes
    current: str = ""
    transforms: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.current:
            self.current = self.written


def kind_of(doc: Node) -> tuple[str, str]:
    """(apiVersion, kind) of an object, "" for what is missing."""
    return (string(get(doc, "apiVersion")) or "", string(get(doc, "kind")) or "")


def image_slots(file: str, doc: Node) -> list[Slot]:
    """Every image field of one document, in file order."""
    if kind_of(doc)[1] == "CustomResourceDefinition":
        return []
    slots: list[Slot] = []
    for mapping in walk_maps(doc):
        for key, _, value in entries(mapping):
            if not isinstance(value, Seq):
                continue
            if key in CONTAINER_LISTS:
                for item in value.items:
                    _slot(slots, file, get(item, "image"), key)
            elif key == "volumes":
                for item in value.items:
                    _slot(slots, file, get(item, "image", "reference"), key)
    return slots


def _slot(slots: list[Slot], file: str, node: Node | None, where: str) -> None:
    text = string(node)
    if isinstance(node, Scalar) and text and text.strip():
        slots.append(Slot(file=file, line=node.line, written=text.strip(), list_key=where))


def slot_note(slot: Slot) -> str:
    if slot.list_key == "volumes":
        return "volumes[].image.reference"
    return slot.list_key


def scan_kubernetes(file: str, doc: Node) -> list[ImageUse]:
    """The images one plain Kubernetes object names (no transformer applied)."""
    uses = []
    for slot in image_slots(file, doc):
        kind = RefKind.STATIC
        uses.append(
            make_use(
                file=file,
                line=slot.line,
                text=slot.written,
                source=SOURCE,
                kind=kind,
                note=f"{kind_of(doc)[1] or 'object'} {slot_note(slot)}",
            )
        )
    return uses
