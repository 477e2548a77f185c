"""Legacy wallet documents as the legacy system writes them, and the marketplace users they belong to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.db import Database

# The marketplace's users (USERS_COLLECTION's default).
USERS = "users"


async def insert_legacy_wallet(
    database: Database, user_id: Any, balance: Any, currency: Any = "USD", *, known_user: bool = True
) -> None:
    """A legacy wallet of `user_id` (a string or an ObjectId), whose user the marketplace knows
    unless `known_user` is false."""
    await database["wallets"].insert_one(
        {"userId": user_id, "balance": balance, "currency": currency, "updatedAt": datetime.now(UTC)}
    )
    if known_user:
        await add_user(database, str(user_id))


async def add_user(database: Database, user_id: str) -> None:
    await database[USERS].update_one({"_id": user_id}, {"$setOnInsert": {"roles": ["buyer"]}}, upsert=True)
