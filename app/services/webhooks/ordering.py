"""Apply a Stripe object's state only if it is newer than the state already stored for it.

Stripe delivers events at least once and in no particular order. A handler that mirrors an
object writes through `apply_if_newer`, which keeps the version of the event that wrote the
stored state (`<prefix>_created`, `<prefix>_id`) and refuses, in the same atomic update, a
write from an older or the same event. Any arrival order then ends in the same state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.db import Document
from app.domain.webhooks import EventVersion

DEFAULT_VERSION_PREFIX = "last_event"


def is_id_conflict(exc: DuplicateKeyError) -> bool:
    key_pattern = (exc.details or {}).get("keyPattern") or {}
    return set(key_pattern) == {"_id"}


def _older_than(version: EventVersion, prefix: str) -> dict[str, Any]:
    created, event_id = f"{prefix}_created", f"{prefix}_id"
    return {
        "$or": [
            {created: {"$exists": False}},
            {created: {"$lt": version.created}},
            {created: version.created, event_id: {"$lt": version.event_id}},
        ]
    }


async def apply_if_newer(
    collection: AsyncCollection[Document],
    object_id: str,
    version: EventVersion,
    fields: dict[str, Any],
    *,
    prefix: str = DEFAULT_VERSION_PREFIX,
) -> bool:
    """Set `fields` on document `object_id` (creating it) unless a newer event already wrote it.

    Returns whether the fields were applied.
    """
    selector = {"_id": object_id, **_older_than(version, prefix)}
    update = {
        "$set": {
            **fields,
            f"{prefix}_created": version.created,
            f"{prefix}_id": version.event_id,
            "updated_at": datetime.now(UTC),
        }
    }
    try:
        await collection.update_one(selector, update, upsert=True)
    except DuplicateKeyError as exc:
        if not is_id_conflict(exc):
            raise
        # The document exists and is at least as new, or another writer created it between
        # our match and our insert; matching again without upsert decides which.
        result = await collection.update_one(selector, update)
        return result.matched_count == 1
    return True
