"""Decoding of Stripe's form encoding: `a[b][c]=v`, `list[0]=v`, `list[]=v`, `metadata[k]=v`.

Bracketed keys become nested dictionaries and `[]` appends to a list. Indexed keys such as
`expand[0]` stay dictionaries keyed by the index: only the parameter types know whether a
value is a list (see `params.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import parse_qsl

FormValue: TypeAlias = str | list["FormValue"] | dict[str, "FormValue"]
FormDict: TypeAlias = dict[str, FormValue]

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class FormEncodingError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Invalid form key: {key}")
        self.key = key


def decode(body: str) -> FormDict:
    return decode_pairs(parse_qsl(body, keep_blank_values=True))


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> FormDict:
    root: FormDict = {}
    for key, value in pairs:
        _assign(root, _split_key(key), value, key)
    return root


def _split_key(key: str) -> list[str]:
    match = _KEY.fullmatch(key)
    if match is None:
        raise FormEncodingError(key)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def _assign(container: FormDict, path: list[str], value: str, key: str) -> None:
    name, rest = path[0], path[1:]
    if name == "":
        raise FormEncodingError(key)
    existing = container.get(name)
    if not rest:
        if isinstance(existing, dict | list):
            raise FormEncodingError(key)
        container[name] = value
    elif rest[0] == "":
        items = container.setdefault(name, [])
        if not isinstance(items, list):
            raise FormEncodingError(key)
        _append(items, rest[1:], value, key)
    else:
        child = container.setdefault(name, {})
        if not isinstance(child, dict):
            raise FormEncodingError(key)
        _assign(child, rest, value, key)


def _append(items: list[FormValue], rest: list[str], value: str, key: str) -> None:
    if not rest:
        items.append(value)
        return
    # `a[][x]=1&a[][y]=2` fills one element; a repeated `x` starts the next one (as Rack does).
    last = items[-1] if items else None
    if not isinstance(last, dict) or _holds(last, rest):
        last = {}
        items.append(last)
    _assign(last, rest, value, key)


def _holds(container: FormDict, path: list[str]) -> bool:
    node: FormValue = container
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True
