"""The only code that reads the marketplace's users: a seller's profile, for their Stripe account;
which users exist, for the legacy wallet migration (a legacy wallet of an unknown user is not
migrated).

The marketplace keeps its users in its own MongoDB collection (`users` by default), one document
per user; which fields hold the id, the email and the country is configured (`USERS_*`), dotted
paths allowed (`address.country`). The service only reads it. A profile is looked up by its id
field: `_id` needs no index; for another field the service creates `payments_service_<field>` at
start-up unless an index leading with it exists.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from app.config import Settings
from app.db import IDS_PER_READ, Database, Document
from app.domain.migration import legacy_user_id, user_id_forms
from app.domain.onboarding import SellerProfile


class MarketplaceUsers:
    def __init__(self, database: Database, settings: Settings) -> None:
        users_db = database.client[settings.users_database or settings.mongodb_database]
        self._users: AsyncCollection[Document] = users_db[settings.users_collection]
        self._id_field = settings.users_id_field
        self._email_field = settings.users_email_field
        self._country_field = settings.users_country_field

    async def ensure_id_index(self) -> None:
        """Lookups by the id field are indexed: `_id` always is; another field gets the service's
        own index unless one leading with it exists."""
        if self._id_field == "_id":
            return
        indexes = await self._users.index_information()
        if not any(spec["key"][0][0] == self._id_field for spec in indexes.values()):
            await self._users.create_index(
                [(self._id_field, ASCENDING)], name=f"payments_service_{self._id_field}"
            )

    async def seller_profile(self, seller_id: str) -> SellerProfile | None:
        """The seller's email and country as the marketplace has them; None for an unknown user."""
        fields = {self._email_field: True, self._country_field: True}
        document = await self._users.find_one({self._id_field: seller_id}, fields)
        if document is None:
            return None
        return SellerProfile(
            seller_id=seller_id,
            email=_text(_at_path(document, self._email_field)),
            country=_text(_at_path(document, self._country_field)),
        )

    async def known(self, user_ids: Collection[str]) -> set[str]:
        """Which of `user_ids` the marketplace knows, its id stored as a string or an ObjectId;
        a few indexed reads whatever their number."""
        forms = [form for user_id in sorted(user_ids) for form in user_id_forms(user_id)]
        known: set[str] = set()
        for start in range(0, len(forms), IDS_PER_READ):
            query = {self._id_field: {"$in": forms[start : start + IDS_PER_READ]}}
            async for document in self._users.find(query, {self._id_field: True}):
                user_id = legacy_user_id(_at_path(document, self._id_field))
                if user_id is not None:
                    known.add(user_id)
        return known


def _at_path(document: Document, path: str) -> Any:
    value: Any = document
    for name in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
