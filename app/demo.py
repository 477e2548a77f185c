"""Demo data for the local default: a small catalog and one user of each kind."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from app.config import Settings
from app.container import ensure_indexes
from app.db import Collections, Database, connect
from app.services.catalog import Catalog

log = structlog.get_logger(__name__)

DEMO_USERS = [
    {"_id": "buyer_demo", "roles": ["buyer"], "name": "Demo Buyer"},
    {"_id": "seller_demo", "roles": ["seller"], "name": "Demo Seller"},
    {"_id": "seller_demo_2", "roles": ["seller"], "name": "Second Demo Seller"},
    {"_id": "admin_demo", "roles": ["admin"], "name": "Demo Admin"},
]

DEMO_CATALOG_COLLECTION = "products"
DEMO_PRODUCTS = [
    ("prod_ceramic_mug", "seller_demo", "Ceramic mug", 1800),
    ("prod_linen_apron", "seller_demo", "Linen apron", 4250),
    ("prod_oak_board", "seller_demo_2", "Oak cutting board", 6999),
    ("prod_tea_sampler", "seller_demo_2", "Tea sampler", 1299),
]


async def seed_into(database: Database, currency: str) -> int:
    """Insert what is missing and leave what exists alone; returns how many documents were added.
    The products have the shape of the default catalog settings (`CATALOG_*`)."""
    now = datetime.now(UTC)
    added = 0
    for user in DEMO_USERS:
        result = await database[Collections.USERS].update_one(
            {"_id": user["_id"]}, {"$setOnInsert": {**user, "created_at": now}}, upsert=True
        )
        added += int(result.upserted_id is not None)
    for product_id, seller_id, title, amount in DEMO_PRODUCTS:
        product = {
            "seller_id": seller_id,
            "title": title,
            "price": {"amount": amount, "currency": currency},
            "active": True,
            "created_at": now,
        }
        result = await database[DEMO_CATALOG_COLLECTION].update_one(
            {"_id": product_id}, {"$setOnInsert": product}, upsert=True
        )
        added += int(result.upserted_id is not None)
    return added


async def seed(settings: Settings) -> None:
    database = connect(settings.mongodb_uri, settings.mongodb_database)
    try:
        await ensure_indexes(database)
        await Catalog(database, settings).ensure_indexes()
        added = await seed_into(database, settings.platform_currency)
        log.info("demo_data_seeded", added=added)
    finally:
        await database.close()
