"""Validation of request parameters against the SDK's own `stripe.params` TypedDicts.

The shape of every call is read from the installed SDK's types, so a parameter the SDK does
not define is refused exactly as Stripe refuses it (`parameter_unknown`). Values arrive as
strings from the form encoding and are converted to the declared types on the way.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NotRequired, Required, TypeAlias, Union, get_args, get_origin
from typing import get_type_hints as typing_get_type_hints

from stripe import StripeObject
from stripe._request_options import RequestOptions
from typing_extensions import is_typeddict

from stripe_emulator import errors
from stripe_emulator.formencoding import FormDict, FormValue

_REQUEST_OPTION_KEYS = frozenset(RequestOptions.__annotations__)
_WRAPPERS = (NotRequired, Required)
_SCALAR_NAMES = {str: "string", int: "integer", bool: "boolean", float: "number", Decimal: "decimal"}
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Scalar:
    kind: type


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]


@dataclass(frozen=True)
class ListOf:
    item: Shape


@dataclass(frozen=True)
class MapOf:
    value: Shape


@dataclass(frozen=True, eq=False)
class Fields:
    name: str
    required: tuple[str, ...]
    fields: dict[str, Shape] = field(default_factory=dict)


@dataclass(frozen=True)
class OneOf:
    options: tuple[Shape, ...]


@dataclass(frozen=True)
class Anything:
    pass


Shape: TypeAlias = Scalar | Choice | ListOf | MapOf | Fields | OneOf | Anything

_schemas: dict[type, Fields] = {}


def schema_for(params_type: type) -> Fields:
    if params_type not in _schemas:
        _SchemaBuilder(_schemas).fields_of(params_type)
    return _schemas[params_type]


def validate(params: type | Fields, raw: FormDict) -> dict[str, Any]:
    """Return the parameters converted to their declared types, or raise a StripeError."""
    schema = params if isinstance(params, Fields) else schema_for(params)
    result: dict[str, Any] = _coerce_fields(schema, raw, None)
    return result


def with_fields(base: Fields, name: str, *, required: tuple[str, ...] = (), **fields: Shape) -> Fields:
    """`base` with more fields: parameters Stripe accepts that the server SDK does not declare
    (those Stripe.js sends with a publishable key)."""
    return Fields(name, (*base.required, *required), {**base.fields, **fields})


class _SchemaBuilder:
    def __init__(self, built: dict[type, Fields]) -> None:
        self._built = built

    def fields_of(self, typed_dict: type) -> Fields:
        if typed_dict in self._built:
            return self._built[typed_dict]
        hints = _field_hints(typed_dict)
        required_keys: frozenset[str] = vars(typed_dict)["__required_keys__"]
        required = tuple(name for name in hints if name in required_keys)
        shape = Fields(typed_dict.__name__, required)
        self._built[typed_dict] = shape
        for name, hint in hints.items():
            shape.fields[name] = self.shape_of(hint)
        return shape

    def shape_of(self, hint: Any) -> Shape:
        origin, args = get_origin(hint), get_args(hint)
        if origin in _WRAPPERS:
            return self.shape_of(args[0])
        if origin is Union or origin is types.UnionType:
            return _one_of([self.shape_of(arg) for arg in args if arg is not types.NoneType])
        if origin is Literal:
            return Choice(tuple(_form_text(arg) for arg in args))
        if origin is list:
            return ListOf(self.shape_of(args[0]))
        if isinstance(origin, type) and issubclass(origin, dict | StripeObject):
            return MapOf(self.shape_of(args[-1]))
        if is_typeddict(hint):
            return self.fields_of(hint)
        if isinstance(hint, type) and issubclass(hint, dict | StripeObject):
            return MapOf(Anything())
        if hint in _SCALAR_NAMES:
            return Scalar(hint)
        if hint is Any:
            return Anything()
        raise TypeError(f"Unsupported parameter annotation: {hint!r}")


def _field_hints(typed_dict: type) -> dict[str, Any]:
    """Resolve each field's annotation in the module that declares the TypedDict.

    Resolving field by field skips the RequestOptions keys, whose annotations name types the
    SDK imports only for type checkers.
    """
    hints: dict[str, Any] = {}
    for name, annotation in typed_dict.__annotations__.items():
        if name in _REQUEST_OPTION_KEYS:
            continue
        namespace = {"__annotations__": {name: annotation}, "__module__": typed_dict.__module__}
        holder = type("Holder", (), namespace)
        hints[name] = typing_get_type_hints(holder, include_extras=True)[name]
    return hints


def _one_of(options: list[Shape]) -> Shape:
    """A union; the SDK types Stripe's enums `Literal[...] | str`, which Stripe holds to the list."""
    choices = tuple(value for option in options if isinstance(option, Choice) for value in option.values)
    if any(choices):
        others = [o for o in options if not isinstance(o, Choice) and o != Scalar(str)]
        options = [Choice(choices), *others]
    return options[0] if len(options) == 1 else OneOf(tuple(options))


def _form_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _join(path: str | None, key: str) -> str:
    return key if path is None else f"{path}[{key}]"


def _coerce(shape: Shape, value: FormValue, path: str) -> Any:
    if isinstance(shape, Anything):
        return value
    if isinstance(shape, Scalar):
        return _coerce_scalar(shape.kind, value, path)
    if isinstance(shape, Choice):
        return _coerce_choice(shape, value, path)
    if isinstance(shape, ListOf):
        return _coerce_list(shape, value, path)
    if isinstance(shape, MapOf):
        return _coerce_map(shape, value, path)
    if isinstance(shape, Fields):
        return _coerce_fields(shape, value, path)
    return _coerce_one_of(shape, value, path)


def _coerce_scalar(kind: type, value: FormValue, path: str) -> Any:
    if not isinstance(value, str):
        raise errors.invalid_request(f"Invalid {_SCALAR_NAMES[kind]}", param=path)
    if kind is int:
        if not _INTEGER.fullmatch(value):
            raise errors.invalid_integer(path, value)
        return int(value)
    if kind is bool:
        if value not in ("true", "false"):
            raise errors.invalid_request(f"Invalid boolean: {value}", param=path)
        return value == "true"
    if kind in (float, Decimal):
        try:
            Decimal(value)
        except InvalidOperation:
            raise errors.invalid_request(f"Invalid decimal: {value}", param=path) from None
    return value


def _coerce_choice(shape: Choice, value: FormValue, path: str) -> str:
    if not isinstance(value, str) or value not in shape.values:
        allowed = ", ".join(shape.values)
        raise errors.invalid_request(f"Invalid {path}: must be one of {allowed}", param=path)
    return value


def _coerce_list(shape: ListOf, value: FormValue, path: str) -> list[Any]:
    if isinstance(value, list):
        return [_coerce(shape.item, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict) and all(key.isdigit() for key in value):
        indexes = sorted(value, key=int)
        return [_coerce(shape.item, value[i], f"{path}[{i}]") for i in indexes]
    raise errors.invalid_request("Invalid array", param=path)


def _coerce_map(shape: MapOf, value: FormValue, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.invalid_request("Invalid object", param=path)
    return {key: _coerce(shape.value, item, _join(path, key)) for key, item in value.items()}


def _coerce_fields(shape: Fields, value: FormValue, path: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.invalid_request("Invalid object", param=path)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key not in shape.fields:
            raise errors.unknown_parameter(_join(path, key))
        result[key] = _coerce(shape.fields[key], item, _join(path, key))
    for key in shape.required:
        if key not in value:
            raise errors.missing_parameter(_join(path, key))
    return result


def _coerce_one_of(shape: OneOf, value: FormValue, path: str) -> Any:
    candidates = sorted(
        (option for option in shape.options if _accepts(option, value)),
        key=lambda option: _preference(option, value),
    )
    first_error: errors.StripeError | None = None
    for option in candidates:
        try:
            return _coerce(option, value, path)
        except errors.StripeError as error:
            first_error = first_error or error
    if first_error is not None:
        raise first_error
    return _coerce(shape.options[0], value, path)


def _accepts(shape: Shape, value: FormValue) -> bool:
    if isinstance(shape, Anything):
        return True
    if isinstance(value, str):
        return isinstance(shape, Scalar | Choice)
    if isinstance(value, list):
        return isinstance(shape, ListOf)
    return isinstance(shape, Fields | MapOf) or (
        isinstance(shape, ListOf) and all(key.isdigit() for key in value)
    )


def _preference(shape: Shape, value: FormValue) -> int:
    """Exact literals first, then free strings, so `"" | int` keeps an empty string as such."""
    if isinstance(shape, Choice):
        return 0 if value in shape.values else 2
    if isinstance(shape, Scalar) and shape.kind is str:
        return 1
    return 3
