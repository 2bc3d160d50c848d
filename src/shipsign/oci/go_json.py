"""JSON text byte-identical to Go's `encoding/json` (what cosign and go-containerregistry write).

Compact; objects keep the key order they are given (Go struct field order: build dicts in that
order, and sort the ones that are Go maps with `sorted_map`); strings escaped as Go escapes
them (`<`, `>`, `&`, U+2028/9 as `\\u…`, other non-ASCII raw); float64 formatted as Go does.
Also the strict reader every decoder in `formats` uses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from shipsign.errors import InputError

__all__ = ["encode", "go_string", "load_strict", "sorted_map"]

_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_HTML_AND_SEPARATORS = {"<", ">", "&", "\u2028", "\u2029"}


def go_string(text: str) -> str:
    """A JSON string literal as Go writes it (HTML-safe, invalid UTF-16 as U+FFFD)."""
    out = ['"']
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char < " " or char in _HTML_AND_SEPARATORS:
            out.append(f"\\u{ord(char):04x}")
        elif "\ud800" <= char <= "\udfff":
            out.append("\ufffd")  # a lone surrogate is invalid UTF-8 in Go: replaced
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _go_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"Go's encoding/json cannot encode {value}")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    number = Decimal(repr(value)).normalize()  # shortest round-trip digits, as strconv's -1
    if 1e-6 <= abs(value) < 1e21:
        return format(number, "f")
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # unreachable: NaN and infinities are refused above
        raise ValueError(f"Go's encoding/json cannot encode {value}")
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    head = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    # strconv writes at least two exponent digits; encoding/json trims "e-07" to "e-7"
    tail = f"e-{-power}" if power < 0 else f"e+{power:02d}"
    return ("-" if sign else "") + head + tail


def encode(value: object) -> str:
    """Encode `value` (dict, list, tuple, str, int, float, bool, None) as Go would."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return go_string(value)
    if isinstance(value, Mapping):
        items = (f"{go_string(str(k))}:{encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def sorted_map(value: object) -> object:
    """Sort the keys of `value` and of every object inside it (Go `map[string]any`)."""
    if isinstance(value, Mapping):
        return {k: sorted_map(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [sorted_map(v) for v in value]
    return value


def load_strict(raw: bytes | str, what: str) -> Any:
    """Decode JSON strictly: no NaN/Infinity, no duplicate keys (a parser differential); raise
    `InputError` naming `what` for anything else.
    """

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for key, value in pairs:
            if key in doc:
                raise ValueError(f"duplicate key {key!r}")
            doc[key] = value
        return doc

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw  # Go reads UTF-8 only
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InputError(
            f"{what} is not valid JSON", found=str(exc)[:200] or type(exc).__name__
        ) from None
