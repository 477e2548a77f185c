"""Stripe's form encoding, decoded."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stripe._encode import _api_encode

from stripe_emulator.formencoding import FormEncodingError, decode


def test_flat_pairs() -> None:
    assert decode("amount=100&currency=usd") == {"amount": "100", "currency": "usd"}


def test_nested_keys_build_nested_objects() -> None:
    body = "settings[payouts][schedule][interval]=manual&settings[payouts][debit]=true"
    assert decode(body) == {"settings": {"payouts": {"schedule": {"interval": "manual"}, "debit": "true"}}}


def test_indexed_keys_stay_keyed_by_index() -> None:
    assert decode("expand[0]=a&expand[1]=b") == {"expand": {"0": "a", "1": "b"}}


def test_empty_brackets_append_to_a_list() -> None:
    assert decode("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}


def test_empty_brackets_with_keys_fill_one_element_until_a_key_repeats() -> None:
    body = "items[][price]=p1&items[][quantity]=2&items[][price]=p2"
    assert decode(body) == {"items": [{"price": "p1", "quantity": "2"}, {"price": "p2"}]}


def test_blank_values_are_kept_for_unsetting() -> None:
    assert decode("metadata[note]=&description=") == {"metadata": {"note": ""}, "description": ""}


def test_values_are_percent_decoded() -> None:
    assert decode("metadata[note]=a%20b%26c%5Bd%5D") == {"metadata": {"note": "a b&c[d]"}}


@pytest.mark.parametrize("body", ["a=1&a[b]=2", "a[b]=2&a=1", "a[]=1&a[b]=2", "a[b=1", "[a]=1"])
def test_malformed_or_conflicting_keys_are_refused(body: str) -> None:
    with pytest.raises(FormEncodingError):
        decode(body)


_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)
_texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
_values = st.recursive(
    _texts | st.lists(_texts, min_size=1, max_size=3),
    lambda children: st.dictionaries(_keys, children, min_size=1, max_size=4),
    max_leaves=12,
)


def _as_decoded(value: Any) -> Any:
    """What decoding gives back: lists come back keyed by their indexes."""
    if isinstance(value, list):
        return {str(i): _as_decoded(item) for i, item in enumerate(value)}
    if isinstance(value, dict):
        return {key: _as_decoded(item) for key, item in value.items()}
    return value


@given(st.dictionaries(_keys, _values, min_size=1, max_size=5))
def test_decoding_inverts_the_sdk_encoding(params: dict[str, Any]) -> None:
    body = urlencode(list(_api_encode(params)))
    assert decode(body) == _as_decoded(params)
