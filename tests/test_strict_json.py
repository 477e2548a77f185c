"""The nesting bound of `app.strict_json`: a value nested up to `MAX_DEPTH` levels is read, one
level deeper is refused, whatever mix of arrays and objects makes the levels."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.strict_json import MAX_DEPTH, InvalidJson, parse_json

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5)
nested = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def wrapped(value: Any, levels: int) -> Any:
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@given(nested, st.integers(0, MAX_DEPTH + 3))
def test_a_value_is_read_exactly_when_it_nests_within_the_bound(inner: Any, levels: int) -> None:
    value = wrapped(inner, levels)
    text = json.dumps(value)

    if depth(value) <= MAX_DEPTH:
        assert parse_json(text) == value
    else:
        with pytest.raises(InvalidJson, match="nested deeper"):
            parse_json(text)


@pytest.mark.parametrize("innermost", [[], {}, [1], {"a": None}])
def test_the_bound_itself_is_read_and_one_level_more_is_not(innermost: Any) -> None:
    at_bound = wrapped(innermost, MAX_DEPTH - 1)

    assert parse_json(json.dumps(at_bound)) == at_bound
    with pytest.raises(InvalidJson):
        parse_json(json.dumps([at_bound]))
