"""The OpenAPI document, generated from the application without connecting to anything."""

from __future__ import annotations

from typing import Any

from app.config import Settings
from app.main import create_app


def openapi_document() -> dict[str, Any]:
    # The schema does not depend on settings values, so unvalidated placeholders suffice.
    return create_app(Settings.model_construct(log_level="WARNING")).openapi()
