"""The OpenAPI document: FastAPI's, completed with the problem schemas every route refers to
(`app.routers.contract`) and with the settings that request schemas take their rules from."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.config import Settings
from app.schemas.base import SETTINGS_KEYWORD
from app.schemas.problems import FieldError, Problem

REF_TEMPLATE = "#/components/schemas/{model}"


class PaymentsApi(FastAPI):
    """The application; its document is generated once, from its routes and its settings."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            settings: Settings = self.state.settings
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, FieldError):
                schemas[model.__name__] = model.model_json_schema(ref_template=REF_TEMPLATE)
            _fill_in_settings(document, settings)
            self.openapi_schema = document
        return self.openapi_schema


def _fill_in_settings(node: Any, settings: Settings) -> None:
    """Replace each `x-from-settings` (see `app.schemas.base.from_settings`) by the values it names."""
    if isinstance(node, list):
        for item in node:
            _fill_in_settings(item, settings)
    if not isinstance(node, dict):
        return
    for keyword, source in node.pop(SETTINGS_KEYWORD, {}).items():
        node[keyword] = (
            [getattr(settings, name) for name in source]
            if isinstance(source, list)
            else getattr(settings, source)
        )
    for value in node.values():
        _fill_in_settings(value, settings)
