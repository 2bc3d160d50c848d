"""The bounds every scanner works within: hostile input gets a FileProblem, never a hang."""

from __future__ import annotations

__all__ = [
    "HELM_OUTPUT_MAX_BYTES",
    "HELM_TIMEOUT_SECONDS",
    "HELM_VALUES_FILES_MAX",
    "KUSTOMIZE_DEPTH_MAX",
    "KUSTOMIZE_FILES_MAX",
    "KUSTOMIZE_SLOTS_MAX",
    "MAX_FILE_BYTES",
    "YAML_ALIASES_MAX",
    "YAML_DEPTH_MAX",
    "YAML_NODES_MAX",
]

MAX_FILE_BYTES = 5 * 1024 * 1024  # checked with stat before reading, and again while reading
YAML_NODES_MAX = 1_000_000  # nodes in a file, aliases counted as the size they expand to
YAML_ALIASES_MAX = 1_000  # alias uses in one document (docker-compose files use a few)
YAML_DEPTH_MAX = 200  # nesting of mappings and sequences
KUSTOMIZE_DEPTH_MAX = 30  # kustomizations including kustomizations
KUSTOMIZE_FILES_MAX = 1_000  # files one kustomize build (or Flux path) may read
KUSTOMIZE_SLOTS_MAX = 100_000  # image fields one build may gather
HELM_TIMEOUT_SECONDS = 60.0
HELM_OUTPUT_MAX_BYTES = 20 * 1024 * 1024
HELM_VALUES_FILES_MAX = 8  # extra values-*.yaml files rendered, each its own `helm template`
