"""Mirrors of Stripe objects whose state gates money, stored as Stripe has them now.

Stripe delivers events at least once and in no particular order, and an event's `created` has
one-second resolution while event ids are random: the newest of several events about one object
cannot be told from the events (Stripe sends several `account.updated` within one second during
onboarding). So a handler never stores the state an event carries: it reads the object again
from Stripe through the adapter and stores that.

Two handlers of one object may still race, a slow read landing after a fresher one. Each handler
therefore reserves a read ticket (a counter on the mirror document) *before* it reads, and stores
what it read only if no read holding a later ticket is stored already. The handler of the last
change reserves its ticket after that change happened, so it reads the final state, and no read
that started earlier can overwrite it: whatever the arrival order, the mirror ends as Stripe is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.db import Document

READ_TICKETS = "read_tickets"
STORED_TICKET = "stored_read_ticket"


async def reserve_read(collection: AsyncCollection[Document], object_id: str) -> int:
    """A ticket for a read of `object_id` about to start, later than every ticket before it."""
    document = await collection.find_one_and_update(
        {"_id": object_id},
        {"$inc": {READ_TICKETS: 1}},
        upsert=True,
        projection={READ_TICKETS: True},
        return_document=ReturnDocument.AFTER,
    )
    assert document is not None  # an upsert always returns the document
    return int(document[READ_TICKETS])


async def store_read(
    collection: AsyncCollection[Document], object_id: str, ticket: int, fields: dict[str, Any]
) -> bool:
    """Set `fields`, read under `ticket`, unless a read with a later ticket is stored; whether stored."""
    result = await collection.update_one(
        unless_later_read_stored(object_id, ticket), {"$set": stored_read_fields(fields, ticket)}
    )
    return result.modified_count == 1


def unless_later_read_stored(object_id: str, ticket: int) -> Document:
    """The filter of a store of what a read under `ticket` found: it matches unless a read with a
    later ticket is stored. Ticket 0 is a read made before any ticket was taken (the answer to
    the call that created the object): stored only while nothing else is."""
    return {"_id": object_id, STORED_TICKET: {"$not": {"$gte": ticket}}}


def stored_read_fields(fields: dict[str, Any], ticket: int) -> dict[str, Any]:
    """What to `$set` to store `fields` as read under `ticket`."""
    return {**fields, STORED_TICKET: ticket, "updated_at": datetime.now(UTC)}


def stored_ticket(document: Document) -> int | None:
    """The ticket of the read stored in `document`, None while no read is."""
    ticket = document.get(STORED_TICKET)
    return int(ticket) if ticket is not None else None
