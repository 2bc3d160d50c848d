"""YAML as a bounded tree of nodes that remember their line.

PyYAML's own composer is recursive (a deeply nested file overflows the stack) and shares the
node of an anchor between its aliases, so a billion-laughs file composes quickly into a graph
that takes forever to walk. This module builds its tree from PyYAML's safe *event* stream
(libyaml when present; the parser is a state machine, not recursive) and counts as it goes:
nesting depth, alias uses and the size of the tree with every alias expanded. Past a limit the
file is refused with a `YamlProblem`; below them every walk of the tree is bounded too.

Anchors are registered when their node is complete, so an alias cannot point into itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeAlias

import yaml

from shipsign.gate.refs.limits import YAML_ALIASES_MAX, YAML_DEPTH_MAX, YAML_NODES_MAX

__all__ = [
    "Map",
    "Node",
    "Scalar",
    "Seq",
    "YamlProblem",
    "compose_documents",
    "entries",
    "get",
    "items",
    "string",
    "walk_maps",
]

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_MERGE_DEPTH_MAX = 10
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    """A file that is not YAML, or that is too large or too deep to walk safely."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class Scalar:
    __slots__ = ("line", "plain", "tagged", "value")

    def __init__(self, value: str, line: int, plain: bool, tagged: bool) -> None:
        self.value = value
        self.line = line  # 1-based
        self.plain = plain
        self.tagged = tagged

    @property
    def is_null(self) -> bool:
        return self.plain and not self.tagged and self.value in _NULLS


class Seq:
    __slots__ = ("items", "line")

    def __init__(self, line: int) -> None:
        self.items: list[Node] = []
        self.line = line


class Map:
    __slots__ = ("line", "pairs")

    def __init__(self, line: int) -> None:
        self.pairs: list[tuple[Node, Node]] = []
        self.line = line


Node: TypeAlias = "Scalar | Seq | Map"


class _Frame:
    __slots__ = ("anchor", "key", "node", "size")

    def __init__(self, node: Seq | Map, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor
        self.size = 1
        self.key: Node | None = None


def compose_documents(text: str, *, pure_python: bool = False) -> list[Node]:
    """Every non-empty document of `text`, in order; raise `YamlProblem` past the limits.

    libyaml parses when PyYAML has it, unless `pure_python` (the fallback, and for tests).
    """
    loader = yaml.SafeLoader if pure_python else _Loader
    docs: list[Node] = []
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Node, int]] = {}
    root: Node | None = None
    expanded = 0
    aliases = 0

    def add(node: Node, size: int, anchor: str | None) -> None:
        nonlocal root
        if anchor:
            anchors[anchor] = (node, size)
        if not stack:
            root = node
            return
        frame = stack[-1]
        frame.size += size
        parent = frame.node
        if isinstance(parent, Seq):
            parent.items.append(node)
        elif frame.key is None:
            frame.key = node
        else:
            parent.pairs.append((frame.key, node))
            frame.key = None

    try:
        for event in yaml.parse(text, Loader=loader):
            mark = event.start_mark
            line = mark.line + 1 if mark is not None else 0
            if isinstance(event, yaml.ScalarEvent):
                expanded += 1
                plain = event.style in (None, "")
                tagged = event.tag not in (None, "!") and not event.implicit[0]
                add(Scalar(event.value, line, plain, tagged), 1, event.anchor)
            elif isinstance(event, yaml.AliasEvent):
                found = anchors.get(event.anchor or "")
                if found is None:
                    raise YamlProblem(
                        f"not valid YAML at line {line}: alias *{event.anchor} names no "
                        "complete anchor before it",
                        line,
                    )
                aliases += 1
                if aliases > YAML_ALIASES_MAX:
                    raise YamlProblem(
                        f"more than {YAML_ALIASES_MAX} YAML aliases in one document: skipped",
                        line,
                    )
                expanded += found[1]
                add(found[0], found[1], None)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= YAML_DEPTH_MAX:
                    raise YamlProblem(
                        f"YAML nested deeper than {YAML_DEPTH_MAX} levels: skipped", line
                    )
                expanded += 1
                node: Seq | Map = (
                    Seq(line) if isinstance(event, yaml.SequenceStartEvent) else Map(line)
                )
                stack.append(_Frame(node, event.anchor))
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frame = stack.pop()
                add(frame.node, frame.size, frame.anchor)
            elif isinstance(event, yaml.DocumentStartEvent):
                root = None
                anchors.clear()
                aliases = 0
            elif (
                isinstance(event, yaml.DocumentEndEvent)
                and root is not None
                and not (isinstance(root, Scalar) and root.is_null)
            ):
                docs.append(root)
            if expanded > YAML_NODES_MAX:
                raise YamlProblem(
                    f"YAML expands to more than {YAML_NODES_MAX:,} nodes (aliases counted "
                    "expanded; an alias bomb?): skipped",
                    line,
                )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = mark.line + 1 if mark is not None else 0
        what = exc.problem or exc.context or "syntax error"
        if "nesting depth" in what:  # libyaml's own limit, deeper than ours
            raise YamlProblem(
                f"YAML nested deeper than {YAML_DEPTH_MAX} levels: skipped", at
            ) from None
        raise YamlProblem(f"not valid YAML at line {at}: {what}", at) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {_one_line(str(exc))}") from None
    return docs


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def string(node: Node | None) -> str | None:
    """The text of a scalar that is not null, else None."""
    if isinstance(node, Scalar) and not node.is_null:
        return node.value
    return None


def entries(node: Node | None) -> Iterator[tuple[str, Scalar, Node]]:
    """(key, key node, value) of a mapping's scalar keys, merge keys (`<<: *x`) applied:
    a key written in the mapping wins over a merged one, an earlier merge over a later one."""
    if not isinstance(node, Map):
        return
    yield from _entries(node, set(), 0)


def _entries(node: Map, seen: set[str], depth: int) -> Iterator[tuple[str, Scalar, Node]]:
    merges: list[Node] = []
    for key, value in node.pairs:
        if not isinstance(key, Scalar):
            continue
        if key.value == "<<" and key.plain:
            merges.append(value)
            continue
        if key.value not in seen:
            seen.add(key.value)
            yield key.value, key, value
    if depth >= _MERGE_DEPTH_MAX:
        return
    for merge in merges:
        sources = merge.items if isinstance(merge, Seq) else [merge]
        for source in sources:
            if isinstance(source, Map):
                yield from _entries(source, seen, depth + 1)


def get(node: Node | None, *path: str) -> Node | None:
    """The value at `path` through mappings, or None."""
    current = node
    for key in path:
        found = None
        for name, _, value in entries(current):
            if name == key:
                found = value
                break
        if found is None:
            return None
        current = found
    return current


def items(node: Node | None) -> list[Node]:
    """A sequence's items ([] for anything else)."""
    return node.items if isinstance(node, Seq) else []


def walk_maps(root: Node) -> Iterator[Map]:
    """Every mapping reachable from `root`, depth first, each alias use walked again.

    Bounded: the composer refused any tree whose expanded size exceeds YAML_NODES_MAX.
    """
    stack: list[Node] = [root]
    budget = YAML_NODES_MAX
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlProblem(f"YAML expands to more than {YAML_NODES_MAX:,} nodes: skipped")
        if isinstance(node, Map):
            yield node
            children = [value for _, _, value in entries(node)]
        elif isinstance(node, Seq):
            children = node.items
        else:
            continue
        stack.extend(reversed(children))
