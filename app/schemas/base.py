"""What every request model shares: unknown fields refused, money as a JSON integer, and
rules whose values are settings stated in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.domain.money import MAX_AMOUNT

# The keyword a schema carries until the app's OpenAPI document replaces it with settings values.
SETTINGS_KEYWORD = "x-from-settings"


class RequestBody(BaseModel):
    """A request body: a field the model does not name is refused (422, the field named), as
    Stripe refuses unknown parameters, so a misspelt field cannot be silently ignored."""

    model_config = ConfigDict(extra="forbid")


# `"1000"`, `1000.0` and `true` are not amounts: only a JSON integer is.
MinorUnits = Annotated[
    int,
    Field(
        strict=True,
        gt=0,
        le=MAX_AMOUNT,
        description='Minor units, as a JSON integer: `1000.0`, `"1000"` and `true` are refused',
    ),
]


def from_settings(**keywords: str | list[str]) -> dict[str, Any]:
    """JSON Schema keywords whose values are settings, e.g. `minimum="topup_min_amount"`, or
    `enum=["platform_currency"]` for a list of settings; for `Field(json_schema_extra=...)`.

    The server enforces the rule with a typed error; this makes the document state it too.
    """
    return {SETTINGS_KEYWORD: keywords}
