"""Reading JSON from outside (request bodies, webhook payloads) with bounds on what it may hold.

Python's `json` accepts what other parsers refuse or read differently: `NaN` and `Infinity`,
`1e400` (read as infinity), integers of thousands of digits, duplicate keys (the last one wins),
and nesting deep enough to exhaust the stack. A body that does any of these is refused as a whole,
so every reader of it sees the same value.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
# Integers a 64-bit reader (MongoDB, Stripe, most JSON clients) holds exactly.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1
_MAX_INTEGER_DIGITS = len(str(MIN_INTEGER))


class InvalidJson(ValueError):
    """The text is not JSON, or holds something outside the bounds above."""


def parse_json(raw: bytes | str, *, max_depth: int = MAX_DEPTH, int64_only: bool = True) -> Any:
    """The JSON value of `raw` (UTF-8 when bytes); raises `InvalidJson` with the reason.

    `int64_only=False` reads any integer Python can (up to its 4300-digit limit), for documents
    whose integers are someone else's to bound (a webhook's object); the reader must not store one
    in MongoDB unchecked.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(
            text,
            parse_int=_bounded_integer if int64_only else int,
            parse_float=_finite_number,
            parse_constant=_no_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except InvalidJson:
        raise
    except UnicodeDecodeError as exc:
        raise InvalidJson("the body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except ValueError as exc:  # an integer past Python's digit limit
        raise InvalidJson(str(exc)) from exc
    except RecursionError as exc:
        raise InvalidJson(f"nested deeper than {max_depth} levels") from exc
    if _depth(value) > max_depth:
        raise InvalidJson(f"nested deeper than {max_depth} levels")
    return value


def is_int64(value: object) -> bool:
    return type(value) is int and MIN_INTEGER <= value <= MAX_INTEGER


def _bounded_integer(text: str) -> int:
    if len(text) > _MAX_INTEGER_DIGITS or not MIN_INTEGER <= (value := int(text)) <= MAX_INTEGER:
        raise InvalidJson("an integer is outside the 64-bit range")
    return value


def _finite_number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson("a number is too large to represent")
    return value


def _no_constant(name: str) -> None:
    raise InvalidJson(f"{name} is not a JSON value")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise InvalidJson("an object repeats a key")
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0), level by level, without
    recursion: each pass keeps only the containers, so scalars are looked at once."""
    depth, level = 0, [value]
    while containers := [item for item in level if isinstance(item, dict | list)]:
        depth += 1
        level = [child for item in containers for child in _children(item)]
    return depth


def _children(container: dict[str, Any] | list[Any]) -> Any:
    return container.values() if isinstance(container, dict) else container
