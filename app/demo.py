"""Demo data for the local default: a small catalog and one user of each kind."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.collection import AsyncCollection

from app.config import Settings
from app.container import ensure_indexes
from app.db import Database, Document, connect
from app.services.catalog import Catalog

log = structlog.get_logger(__name__)

DEMO_USERS = [
    {"_id": "buyer_demo", "roles": ["buyer"], "name": "Demo Buyer"},
    {"_id": "seller_demo", "roles": ["seller"], "name": "Demo Seller"},
    {"_id": "seller_demo_2", "roles": ["seller"], "name": "Second Demo Seller"},
    {"_id": "admin_demo", "roles": ["admin"], "name": "Demo Admin"},
]
# What Stripe needs to open a seller's account (written under the USERS_* field names).
DEMO_PROFILES = {
    "seller_demo": {"email": "seller_demo@example.com", "country": "US"},
    "seller_demo_2": {"email": "seller_demo_2@example.com", "country": "US"},
}

DEMO_PRODUCTS = [
    ("prod_ceramic_mug", "seller_demo", "Ceramic mug", 1800),
    ("prod_linen_apron", "seller_demo", "Linen apron", 4250),
    ("prod_oak_board", "seller_demo_2", "Oak cutting board", 6999),
    ("prod_tea_sampler", "seller_demo_2", "Tea sampler", 1299),
]


async def seed_into(database: Database, settings: Settings) -> int:
    """Insert what is missing and leave what exists alone; returns how many documents were added.
    The products have the shape of the default catalog settings (`CATALOG_*_FIELD`)."""
    now = datetime.now(UTC)
    added = 0
    users = database.client[settings.users_database or settings.mongodb_database][settings.users_collection]
    for user in DEMO_USERS:
        user_id = str(user["_id"])
        demo_user = {settings.users_id_field: user_id, **user, "created_at": now}
        result = await users.update_one(
            {settings.users_id_field: user_id}, {"$setOnInsert": demo_user}, upsert=True
        )
        added += int(result.upserted_id is not None)
        await _complete_profile(users, settings, user_id)
    currency = settings.platform_currency
    products = database.client[settings.catalog_database or settings.mongodb_database][
        settings.catalog_collection
    ]
    for product_id, seller_id, title, amount in DEMO_PRODUCTS:
        product = {
            "seller_id": seller_id,
            "title": title,
            "price": {"amount": amount, "currency": currency},
            "active": True,
            "created_at": now,
        }
        result = await products.update_one({"_id": product_id}, {"$setOnInsert": product}, upsert=True)
        added += int(result.upserted_id is not None)
    return added


async def _complete_profile(users: AsyncCollection[Document], settings: Settings, user_id: str) -> None:
    """A demo seller's email and country, where a user seeded before they were needed lacks them."""
    profile = DEMO_PROFILES.get(user_id)
    if profile is None:
        return
    for name, field in (("email", settings.users_email_field), ("country", settings.users_country_field)):
        await users.update_one(
            {settings.users_id_field: user_id, field: {"$exists": False}}, {"$set": {field: profile[name]}}
        )


async def seed(settings: Settings) -> None:
    database = connect(settings.mongodb_uri, settings.mongodb_database)
    try:
        await ensure_indexes(database)
        await Catalog(database, settings).ensure_indexes()
        added = await seed_into(database, settings)
        log.info("demo_data_seeded", added=added)
    finally:
        await database.close()
