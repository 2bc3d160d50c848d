"""Go encoding/json compatibility of the encoder the legacy formats use."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.oci.go_json import encode, go_string, sorted_map


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("plain/ascii", '"plain/ascii"'),
        ('"\\', '"\\"\\\\"'),
        ("<a href='x'>&</a>", "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\""),
        ("\b\f\n\r\t\x00\x1f\x7f", '"\\b\\f\\n\\r\\t\\u0000\\u001f\x7f"'),
        ("é ü 日本 \u2028\u2029", '"é ü 日本 \\u2028\\u2029"'),
        ("\ud800", '"\ufffd"'),
    ],
)
def test_strings_are_escaped_as_go_escapes_them(text: str, go: str) -> None:
    assert go_string(text) == go


@pytest.mark.parametrize(
    ("value", "go"),
    [
        (100.0, "100"),
        (1.5, "1.5"),
        (-0.0, "-0"),
        (0.00001, "0.00001"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (123456789.125, "123456789.125"),
    ],
)
def test_floats_are_formatted_as_go_formats_float64(value: float, go: str) -> None:
    assert encode(value) == go


def test_objects_keep_their_order_and_maps_are_sorted() -> None:
    assert encode({"b": 1, "a": [True, None]}) == '{"b":1,"a":[true,null]}'
    assert encode(sorted_map({"b": {"d": 1, "c": 2}, "a": 0})) == '{"a":0,"b":{"c":2,"d":1}}'


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(st.characters(exclude_categories=["Cs"])),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=15,
    )
)
def test_output_is_json_that_python_reads_back(value: object) -> None:
    # Go writes integral float64s without a fraction ("1e16" as 10000000000000000), so compare
    # numbers as floats
    assert _numbers_as_floats(json.loads(encode(value))) == _numbers_as_floats(value)


def _numbers_as_floats(value: object) -> object:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    assert isinstance(value, list)
    return [_numbers_as_floats(v) for v in value]
