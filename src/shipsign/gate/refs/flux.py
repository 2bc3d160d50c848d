"""Flux objects: Kustomization `spec.images`, HelmRelease values, OCIRepository artifacts.

- `Kustomization` (kustomize.toolkit.fluxcd.io): `spec.images` has the shape of kustomize's
  `images:`. When `spec.sourceRef` is a GitRepository (taken to be this repository) and
  `spec.path` is a directory of the scanned root, that directory is built as Flux builds it
  (its kustomization, or every YAML file below it) and the image fields the entries rewrite are
  reported, at the line of the field, with the entry in `note`. Otherwise the entries are
  reported on their own at their line, as HEURISTIC (DYNAMIC without newTag or digest). The
  images the path holds unchanged are not reported here: their own files are.
- `HelmRelease` (helm.toolkit.fluxcd.io): `spec.values` read by the Helm values convention
  (HEURISTIC; an override of `image.tag` alone is DYNAMIC, the repository being the chart's),
  and `spec.postRenderers[].kustomize.images` entries on their own.
- `OCIRepository` (source.toolkit.fluxcd.io): `spec.url` (`oci://`) with `spec.ref`, in Flux's
  order: `digest`, else `semver` (DYNAMIC: the tag is chosen when Flux reconciles), else `tag`,
  else `latest`.
"""

from __future__ import annotations

from shipsign.gate.model import FileProblem, ImageUse, RefKind
from shipsign.gate.refs.files import Workspace, join_inside
from shipsign.gate.refs.helm import values_uses
from shipsign.gate.refs.kustomize import apply_images, build_directory, entry_uses, image_entries
from shipsign.gate.refs.normalize import make_use
from shipsign.gate.refs.yaml_k8s import slot_note
from shipsign.gate.refs.yamlnodes import Map, Node, Scalar, get, items, string

__all__ = ["flux_kind", "scan_flux"]

_APIS = {
    "Kustomization": "kustomize.toolkit.fluxcd.io/",
    "HelmRelease": "helm.toolkit.fluxcd.io/",
    "OCIRepository": "source.toolkit.fluxcd.io/",
}


def flux_kind(doc: Node) -> str:
    """ "Kustomization", "HelmRelease" or "OCIRepository" for those Flux objects, else ""."""
    api = string(get(doc, "apiVersion")) or ""
    kind = string(get(doc, "kind")) or ""
    prefix = _APIS.get(kind)
    return kind if prefix is not None and api.startswith(prefix) else ""


def scan_flux(ws: Workspace, file: str, doc: Node) -> tuple[list[ImageUse], list[FileProblem]]:
    kind = flux_kind(doc)
    if kind == "Kustomization":
        return _kustomization(ws, file, doc)
    if kind == "HelmRelease":
        return _helm_release(file, doc), []
    if kind == "OCIRepository":
        return _oci_repository(file, doc), []
    return [], []


def _kustomization(ws: Workspace, file: str, doc: Node) -> tuple[list[ImageUse], list[FileProblem]]:
    source = "flux-kustomization"
    entries = image_entries(file, get(doc, "spec", "images"))
    if not entries:
        return [], []
    source_kind = string(get(doc, "spec", "sourceRef", "kind")) or "GitRepository"
    path_node = get(doc, "spec", "path")
    path = (string(path_node) or "./").strip()
    if source_kind != "GitRepository":
        why = f"spec.sourceRef is a {source_kind}: its files are not read"
        return entry_uses(entries, source, why), []
    target = join_inside("", path.lstrip("/") or ".")
    if target is None or not ws.is_dir(target):
        return entry_uses(entries, source, f"spec.path {path} is not in the scanned root"), []
    line = path_node.line if isinstance(path_node, Scalar) else 0
    build = build_directory(ws, target, file, line)
    unmatched = apply_images(build.slots, entries)
    uses = []
    ours = tuple(e.where for e in entries)
    for slot in build.slots:
        applied = [t for t in slot.transforms if t in ours]
        if applied:
            uses.append(
                make_use(
                    file=slot.file,
                    line=slot.line,
                    text=slot.current,
                    source=source,
                    note=f"{slot_note(slot)}; from Flux Kustomization spec.images in "
                    + ", ".join(applied),
                )
            )
    if build.incomplete:
        uses.extend(entry_uses(unmatched, source, f"some files of {path} were not read"))
    return uses, build.problems


def _helm_release(file: str, doc: Node) -> list[ImageUse]:
    source = "flux-helmrelease"
    uses: list[ImageUse] = []
    values = get(doc, "spec", "values")
    if isinstance(values, Map):
        uses.extend(values_uses(file, values, source=source, app_version=None, where="spec.values"))
    for renderer in items(get(doc, "spec", "postRenderers")):
        entries = image_entries(file, get(renderer, "kustomize", "images"))
        uses.extend(entry_uses(entries, source, "a post-renderer of the rendered chart"))
    return uses


def _oci_repository(file: str, doc: Node) -> list[ImageUse]:
    source = "flux-ocirepository"
    url_node = get(doc, "spec", "url")
    url = (string(url_node) or "").strip()
    if not isinstance(url_node, Scalar) or not url:
        return []
    base = url.removeprefix("oci://")
    ref = get(doc, "spec", "ref")
    digest, semver, tag = (get(ref, k) for k in ("digest", "semver", "tag"))
    if string(digest):
        node, text, note = digest, f"{base}@{string(digest)}", "spec.url with spec.ref.digest"
    elif string(semver):
        return [
            make_use(
                file=file,
                line=semver.line if isinstance(semver, Scalar) else url_node.line,
                text=f"{base} (semver {string(semver)})",
                source=source,
                kind=RefKind.DYNAMIC,
                note=f"spec.ref.semver {string(semver)!r}: the tag is chosen when Flux reconciles",
            )
        ]
    elif string(tag):
        node, text, note = tag, f"{base}:{string(tag)}", "spec.url with spec.ref.tag"
    else:
        node, text, note = url_node, f"{base}:latest", "spec.url, no spec.ref: latest"
    line = node.line if isinstance(node, Scalar) else url_node.line
    return [make_use(file=file, line=line, text=text, source=source, note=note)]
