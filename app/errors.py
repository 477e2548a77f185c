"""The base of every typed error the service raises on purpose.

Each domain module subclasses `ServiceError` with its own stable `code`; the API maps them
once, in `app.problems`, to RFC 9457 problem documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ServiceError(Exception):
    code: ClassVar[str] = "service_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Service error"
    # The extension members its problem document may carry, by name, with their types; the
    # OpenAPI document lists them beside the standard members.
    members: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def as_problem(self) -> dict[str, Any]:
        """The RFC 9457 body of this error; `code` is the stable machine-readable part."""
        return {
            "type": f"about:blank#{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extensions,
        }


class ConfigurationError(ServiceError):
    code = "configuration_error"
    title = "The service is misconfigured"


class NotFound(ServiceError):
    code = "not_found"
    status = 404
    title = "Not found"


class UnknownCursor(NotFound):
    """A list's `starting_after` that is not an item of that list: unknown, or someone else's."""

    code = "unknown_cursor"
    title = "The list has no such item to start after"


class InvalidRequest(ServiceError):
    code = "validation_error"
    status = 422
    title = "The request is not valid"
