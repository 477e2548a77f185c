"""Legacy wallet documents as the legacy system writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.db import Database


async def insert_legacy_wallet(database: Database, user_id: str, balance: Any, currency: str = "USD") -> None:
    await database["wallets"].insert_one(
        {"userId": user_id, "balance": balance, "currency": currency, "updatedAt": datetime.now(UTC)}
    )
