"""How every route is declared: the errors it can answer, and the bounds on what it reads.

    router = APIRouter(prefix="/refunds", tags=["refunds"], route_class=ContractRoute)

    @router.post("", status_code=201, summary="Refund an order")
    @raises(RefundExceedsCharge, *PAYMENT_OPERATION_ERRORS)
    async def create_refund(body: RefundRequestBody, buyer: Buyer, ...) -> RefundOut: ...

`@raises` names the typed errors the endpoint's own calls can answer (`@raises()` when none);
dependencies declare theirs the same way, so a route that takes `Buyer` documents 401 and 403
without saying so. `ContractRoute` adds what HTTP itself can answer: a body that is too large,
not JSON or not valid, and the 500 of a crash. From all of these the route lists every problem
response in the OpenAPI document, one per status, with the exact codes it can carry.

It also reads the body before FastAPI does: at most the route's limit (refused from
`Content-Length`, or as soon as the stream passes it, without reading the rest), as JSON only,
and through `app.strict_json`, so every malformed body is one `400 malformed_json`; and it
refuses query parameters the route does not take, or that come twice (422).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar, get_args, get_origin

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.types import Message, Receive, Scope

from app.config import Settings
from app.errors import InvalidRequest, ServiceError
from app.problems import PROBLEM_JSON, InternalError, MalformedJson, RequestTooLarge, UnsupportedMediaType
from app.strict_json import InvalidJson, parse_json

F = TypeVar("F", bound=Callable[..., Any])
ErrorTypes = tuple[type[ServiceError], ...]

PROBLEM_REF = "#/components/schemas/Problem"
FIELD_ERROR_REF = "#/components/schemas/FieldError"

_DECLARED: dict[Callable[..., Any], ErrorTypes] = {}


def raises(*errors: type[ServiceError]) -> Callable[[F], F]:
    """Declare the errors an endpoint or a dependency can answer; put it below `@router.<method>`."""

    def declare(function: F) -> F:
        _DECLARED[function] = errors
        return function

    return declare


class ContractRoute(APIRoute):
    """A route whose problem responses are documented from its declared errors (see the module)."""

    errors: ErrorTypes

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if endpoint not in _DECLARED:
            raise TypeError(
                f"{endpoint.__qualname__} declares no errors: add @raises(...) below @router.<method>"
            )
        super().__init__(path, endpoint, **kwargs)
        self.errors = self._errors()
        self.responses = {**problem_responses(self.errors), **self.responses}

    def body_limit(self, settings: Settings) -> int:
        """The most bytes this route reads from a request body."""
        return settings.max_request_body_bytes

    def _errors(self) -> ErrorTypes:
        declared = [error for call in _calls(self.dependant) for error in _DECLARED.get(call, ())]
        # Any route may be sent a query parameter it does not take.
        framework: list[type[ServiceError]] = [InvalidRequest, InternalError]
        if self.body_field is not None:
            framework += [MalformedJson, RequestTooLarge, UnsupportedMediaType]
        elif "requestBody" in (self.openapi_extra or {}):
            framework.append(RequestTooLarge)
        return tuple(dict.fromkeys([*declared, *framework]))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        reads_json = self.body_field is not None
        query = _QueryParameters.of(self.dependant)

        async def handle_within_contract(request: Request) -> Response:
            query.check(request)
            limit = self.body_limit(request.app.state.settings)
            bounded = _JsonBodyRequest(request.scope, _bounded_receive(request.scope, request.receive, limit))
            if reads_json:
                await bounded.read_json()
            return await handle(bounded)

        return handle_within_contract


class _JsonBodyRequest(Request):
    """A request whose JSON body is read and checked before FastAPI asks for it."""

    _parsed: Any = None

    async def read_json(self) -> None:
        body = await self.body()
        if not body:
            return  # FastAPI answers a missing body as the validation error it is
        if not _is_json(self.headers.get("content-type")):
            raise UnsupportedMediaType("send the body as application/json")
        try:
            self._parsed = parse_json(body)
        except InvalidJson as exc:
            raise MalformedJson(str(exc)) from exc

    async def json(self) -> Any:
        return self._parsed


@dataclass(frozen=True)
class _QueryParameters:
    """The query parameters a route takes: one value each, or many (a list)."""

    single: frozenset[str]
    many: frozenset[str]

    @classmethod
    def of(cls, dependant: Dependant) -> _QueryParameters:
        fields = list(_query_fields(dependant))
        many = frozenset(field.alias for field in fields if _is_list(field.field_info.annotation))
        return cls(frozenset(field.alias for field in fields) - many, many)

    def check(self, request: Request) -> None:
        """Refuse a parameter the route does not take, as Stripe refuses unknown parameters (a
        misspelt `limt=5` is not silently ignored), and one value given twice (not the last
        one silently taken)."""
        if not request.scope["query_string"]:
            return  # most requests: nothing to parse
        given = request.query_params
        unknown = sorted(set(given) - self.single - self.many)
        repeated = sorted(name for name in self.single if len(given.getlist(name)) > 1)
        errors = [
            {"loc": ["query", name], "msg": "Unknown parameter", "type": "extra_forbidden"}
            for name in unknown
        ]
        errors += [
            {"loc": ["query", name], "msg": "Given more than once", "type": "too_long"} for name in repeated
        ]
        if errors:
            detail = "; ".join(f"query.{error['loc'][1]}: {error['msg']}" for error in errors)
            raise InvalidRequest(detail, errors=errors)


def _query_fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for dependency in dependant.dependencies:
        yield from _query_fields(dependency)


def _is_list(annotation: Any) -> bool:
    return any(
        get_origin(kind) in (list, set, tuple, frozenset) for kind in (annotation, *get_args(annotation))
    )


def _bounded_receive(scope: Scope, receive: Receive, limit: int) -> Receive:
    declared = _content_length(scope)
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        if declared is not None and declared > limit:
            raise RequestTooLarge(f"the body may have at most {limit} bytes", limit=limit)
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise RequestTooLarge(f"the body may have at most {limit} bytes", limit=limit)
        return message

    return receive_within_limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from _calls(dependency)


def problem_responses(errors: Sequence[type[ServiceError]]) -> dict[int | str, dict[str, Any]]:
    """One OpenAPI response per status: a Problem whose `code` is one of that status's codes."""
    by_status: dict[int, list[type[ServiceError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    return {status: _problem_response(status, by_status[status]) for status in sorted(by_status)}


def _problem_response(status: int, errors: list[type[ServiceError]]) -> dict[str, Any]:
    codes = sorted({error.code for error in errors})
    properties: dict[str, Any] = {"status": {"enum": [status]}, "code": {"enum": codes}}
    for error in errors:
        for name, member_type in error.members.items():
            properties[name] = TypeAdapter(member_type).json_schema()
    if InvalidRequest.code in codes:
        properties["errors"] = {
            "type": "array",
            "items": {"$ref": FIELD_ERROR_REF},
            "description": f"With `{InvalidRequest.code}`: each field that failed, and why",
        }
    titles = "; ".join(f"`{code}`: {title}" for code, title in sorted({(e.code, e.title) for e in errors}))
    return {
        "description": f"{HTTPStatus(status).phrase}. {titles}.",
        "content": {
            PROBLEM_JSON: {
                "schema": {"allOf": [{"$ref": PROBLEM_REF}], "type": "object", "properties": properties}
            }
        },
    }
