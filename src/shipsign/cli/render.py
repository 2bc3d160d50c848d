"""Everything the CLI prints: results to stdout, errors and progress to stderr.

rich is imported lazily, inside the functions that draw tables.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shipsign.errors import InputError as ShipsignInputError
from shipsign.errors import ShipsignError
from shipsign.secret import redact

if TYPE_CHECKING:
    from shipsign.inspect import LegacyAttachment, ResolvedImage, TreeReport
    from shipsign.oci import Descriptor
    from shipsign.signatures import Kind

__all__ = ["error", "error_line", "out", "resolved", "tree", "warn"]
# Every line written here goes through `redact` (shipsign.secret), results and JSON included.


def out(text: str) -> None:
    """Write a result to stdout."""
    text = redact(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def step_summary(markdown: str) -> None:
    """Append Markdown to `$GITHUB_STEP_SUMMARY` when it is set (in a GitHub Actions step)."""
    from shipsign.action.workflow import append_step_summary

    append_step_summary(markdown)  # redacts


def write_file(path: Path, text: str) -> None:
    """Write a command's result to `path` (`-o FILE`); InputError when it cannot."""
    try:
        path.write_text(redact(text), encoding="utf-8")
    except OSError as exc:
        raise ShipsignInputError("cannot write the file", where=str(path), found=str(exc)) from exc


def warn(text: str) -> None:
    """Write a warning to stderr."""
    sys.stderr.write(redact(f"warning: {text}\n"))


def error_line(text: str) -> None:
    """Write a one-line error to stderr."""
    sys.stderr.write(redact(f"error: {text}\n"))


def error(exc: BaseException, *, verbose: bool) -> None:
    """Render an exception for a person: what, then where / expected / found / hint."""
    if isinstance(exc, ShipsignError):
        # Registries' and services' messages are quoted in these fields: one line each.
        lines = [f"error: {_field(exc.what)}"]
        width = max((len(k) for k, _ in exc.details()), default=0) + 1
        lines += [f"  {k + ':':<{width}} {_field(v)}" for k, v in exc.details()]
        sys.stderr.write(redact("\n".join(lines)) + "\n")
        if verbose:
            _traceback(exc)
        return
    sys.stderr.write(redact(f"internal error: {type(exc).__name__}: {exc}") + "\n")
    if verbose:
        _traceback(exc)
    else:
        sys.stderr.write("  this is a bug in shipsign; run again with -v for the traceback\n")


def _traceback(exc: BaseException) -> None:
    # The chained library exceptions quote whole URLs (requests: "... with url: /v2/...?_state=").
    sys.stderr.write(redact("".join(traceback.format_exception(exc))))


def resolved(images: Sequence[ResolvedImage], *, output: str) -> None:
    """Print `REPOSITORY@digest` per image, or the same facts as JSON."""
    if output == "json":
        rows = [
            {"image": i.input, "reference": i.reference, "repository": i.repository,
             "digest": str(i.digest), "mediaType": i.media_type}
            for i in images
        ]  # fmt: skip
        out(json.dumps(rows, indent=2))
        return
    out("\n".join(i.reference for i in images))


def tree(report: TreeReport, *, output: str) -> None:
    """Print what is attached to an image, as a tree or as JSON."""
    if output == "json":
        out(json.dumps(_tree_json(report), indent=2))
        return
    nodes: list[_Node] = [_legacy_node(a) for a in report.legacy]
    if not nodes:
        nodes.append(("legacy tags (.sig, .att, .sbom): none", []))
    found = report.referrers.descriptors
    where = (
        "the referrers API"
        if report.referrers.source.value == "api"
        else f"the fallback tag {report.digest.tag_form}"
    )
    nodes.append(
        (
            f"referrers from {where}: {len(found) or 'none'}",
            [_referrer_node(d, report.referrer_kind(d)) for d in found],
        )
    )
    out("\n".join([report.reference, *_draw(nodes, "")]))


_Node = tuple[str, list["_Node"]]


def _draw(nodes: list[_Node], prefix: str) -> list[str]:
    lines = []
    for n, (text, children) in enumerate(nodes):
        last = n == len(nodes) - 1
        first, *more = text.split("\n")
        lines.append(prefix + ("└── " if last else "├── ") + first)
        pad = prefix + ("    " if last else "│   ")
        lines += [pad + line for line in more]
        lines += _draw(children, pad)
    return lines


def _field(text: str) -> str:
    """A registry's (or a certificate's) text on one line, its control characters escaped, so
    that it cannot draw tree lines of its own or reach the terminal as escape sequences."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _legacy_node(attachment: LegacyAttachment) -> _Node:
    count = len(attachment.layers)
    layers: list[_Node] = []
    for layer in attachment.layers:
        text = f"{layer.digest} {_field(layer.media_type)}"
        if layer.signer is not None:
            identity, issuer = _field(layer.signer.identity), _field(layer.signer.issuer or "-")
            text += f"\n  identity: {identity}\n  issuer:   {issuer}"
        elif layer.certificate_problem is not None:
            text += f"\n  certificate unreadable: {_field(layer.certificate_problem)}"
        layers.append((text, []))
    kind = attachment.kind.name.lower()
    return (f"{kind}: tag {attachment.tag}, {count} layer{'s' * (count != 1)}", layers)


def _referrer_node(d: Descriptor, kind: Kind | None) -> _Node:
    text = f"{d.digest} {_field(d.artifact_type or d.media_type)}"
    if kind is not None:  # what the entry says; a signature is only known from its content
        text += f"\n  kind: {kind.value} (not an image signature)"
    text += "".join(f"\n  {_field(k)}: {_field(v)}" for k, v in sorted(d.annotations.items()))
    return (text, [])


def _tree_json(report: TreeReport) -> dict[str, object]:
    return {
        "image": report.image,
        "reference": report.reference,
        "digest": str(report.digest),
        "legacy": [
            {
                "kind": a.kind.name.lower(),
                "tag": a.tag,
                "digest": str(a.digest),
                "layers": [
                    {
                        "digest": str(layer.digest),
                        "mediaType": layer.media_type,
                        "identity": layer.signer.identity if layer.signer else None,
                        "issuer": layer.signer.issuer if layer.signer else None,
                        "certificateProblem": layer.certificate_problem,
                    }
                    for layer in a.layers
                ],
            }
            for a in report.legacy
        ],
        "referrers": {
            "source": report.referrers.source.value,
            "manifests": [
                {"digest": str(d.digest), "mediaType": d.media_type, "size": d.size,
                 "artifactType": d.artifact_type, "annotations": dict(d.annotations),
                 "kind": kind.value if (kind := report.referrer_kind(d)) else None}
                for d in report.referrers.descriptors
            ],
        },
    }  # fmt: skip
