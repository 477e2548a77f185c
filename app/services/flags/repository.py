"""The `feature_flags` collection: one document per flag that an admin has set, `_id` its name.

A flag without a document follows its default from the settings. Each change is a
compare-and-set on the document's version, so two admins saving at once cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import Collections, Database, Document
from app.domain.flags import Flag, FlagRule


class FlagChanged(RuntimeError):
    """The flag was changed by someone else between its read and its write."""


@dataclass(frozen=True, slots=True)
class StoredFlag:
    flag: Flag
    rule: FlagRule
    updated_by: str
    updated_at: datetime
    version: int


class FlagRepository:
    def __init__(self, database: Database) -> None:
        self._flags = database[Collections.FEATURE_FLAGS]

    async def all(self) -> dict[Flag, StoredFlag]:
        """Every stored flag, in one read (a handful of documents)."""
        known = {flag.value for flag in Flag}
        return {
            Flag(document["_id"]): _stored(document)
            async for document in self._flags.find({"_id": {"$in": sorted(known)}})
        }

    async def get(self, flag: Flag, session: AsyncClientSession) -> StoredFlag | None:
        document = await self._flags.find_one({"_id": flag.value}, session=session)
        return _stored(document) if document else None

    async def save(
        self,
        session: AsyncClientSession,
        flag: Flag,
        rule: FlagRule,
        updated_by: str,
        now: datetime,
        previous: StoredFlag | None,
    ) -> StoredFlag:
        """Store `rule`, by compare-and-set on the version read (`previous`; none: a first insert,
        which raises DuplicateKeyError if another got there first)."""
        version = previous.version + 1 if previous else 1
        document = {
            "enabled": rule.enabled,
            "rollout_percent": rule.rollout_percent,
            "allow_users": sorted(rule.allow_users),
            "deny_users": sorted(rule.deny_users),
            "updated_by": updated_by,
            "updated_at": now,
            "version": version,
        }
        if previous is None:
            await self._flags.insert_one({"_id": flag.value, **document}, session=session)
        else:
            saved = await self._flags.update_one(
                {"_id": flag.value, "version": previous.version}, {"$set": document}, session=session
            )
            if saved.matched_count != 1:
                raise FlagChanged(f"feature flag {flag} changed meanwhile")
        return StoredFlag(flag, rule, updated_by, now, version)


def _stored(document: Document) -> StoredFlag:
    return StoredFlag(
        flag=Flag(document["_id"]),
        rule=FlagRule(
            enabled=document["enabled"],
            rollout_percent=document["rollout_percent"],
            allow_users=frozenset(document.get("allow_users") or ()),
            deny_users=frozenset(document.get("deny_users") or ()),
        ),
        updated_by=document["updated_by"],
        updated_at=document["updated_at"],
        version=document["version"],
    )
