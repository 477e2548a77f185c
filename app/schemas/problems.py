"""The problem documents (RFC 9457) every error answers, as the OpenAPI document shows them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """An RFC 9457 problem; each operation narrows `status` and `code` to what it can answer and
    lists the extension members its codes carry."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`about:blank#<code>`", json_schema_extra={"format": "uri-reference"})
    title: str = Field(description="What kind of problem this is; the same for every occurrence of a code")
    status: int = Field(ge=400, le=599, description="The HTTP status")
    detail: str = Field(description="What went wrong this time, for a person")
    code: str = Field(description="Stable and machine-readable: what clients branch on")
    instance: str = Field(description="The path of the request that failed")


class FieldError(BaseModel):
    """One field of a request that failed validation."""

    loc: list[str | int] = Field(description='Where: `["body", "amount"]`, `["query", "limit"]`, …')
    msg: str
    type: str = Field(description="Pydantic's error type, e.g. `int_type`, `extra_forbidden`")
