"""Idempotency-Key handling for money-moving POSTs."""

from app.services.idempotency.repository import INDEXES
from app.services.idempotency.service import (
    IdempotencyKeyReused,
    IdempotencyStore,
    IdempotentRequestInFlight,
    StoredResponse,
    request_fingerprint,
)

__all__ = [
    "INDEXES",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "IdempotentRequestInFlight",
    "StoredResponse",
    "request_fingerprint",
]
