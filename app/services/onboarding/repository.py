"""The `stripe_accounts` collection: each connected Stripe account as last read from Stripe.

One document per Stripe account id (`_id`); `seller_id` comes from the account's metadata,
which onboarding sets when it creates the account. Reads are ordered by read tickets
(`app.services.webhooks.reserve_read`), never by events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.services.webhooks import reserve_read, store_read

INDEXES: dict[str, list[IndexModel]] = {
    Collections.STRIPE_ACCOUNTS: [IndexModel([("seller_id", ASCENDING)], unique=True, sparse=True)],
}


@dataclass(frozen=True, slots=True)
class RequirementsSummary:
    currently_due: list[str] = field(default_factory=list)
    eventually_due: list[str] = field(default_factory=list)
    past_due: list[str] = field(default_factory=list)
    pending_verification: list[str] = field(default_factory=list)
    current_deadline: datetime | None = None
    errors: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The parts of a connected account the service acts on."""

    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    capabilities: dict[str, str]
    disabled_reason: str | None
    requirements: RequirementsSummary
    seller_id: str | None


@dataclass(frozen=True, slots=True)
class StripeAccount(AccountSnapshot):
    """A connected account as last read from Stripe, with the event that made us read it."""

    id: str
    deauthorized: bool
    deauthorized_at: datetime | None
    last_event_created: datetime | None
    last_event_id: str | None


class SellerAlreadyLinked(Exception):
    """Another Stripe account already names this seller."""


class StripeAccountRepository:
    def __init__(self, database: Database) -> None:
        self._accounts = database[Collections.STRIPE_ACCOUNTS]

    async def get(self, account_id: str) -> StripeAccount | None:
        document = await self._accounts.find_one({"_id": account_id})
        return _account(document) if document else None

    async def transfer_destination(self, seller_id: str) -> str | None:
        """The seller's account if Stripe lets it receive transfers now (its `transfers`
        capability active) and the platform still has access to it."""
        document = await self._accounts.find_one(
            {"seller_id": seller_id, "capabilities.transfers": "active", "deauthorized": {"$ne": True}},
            {"_id": True},
        )
        return str(document["_id"]) if document else None

    async def reserve_read(self, account_id: str) -> int:
        """A ticket for a read of the account from Stripe that is about to start."""
        return await reserve_read(self._accounts, account_id)

    async def store_snapshot(
        self, account_id: str, snapshot: AccountSnapshot, ticket: int, event_id: str, event_created: datetime
    ) -> bool:
        """Store what a read under `ticket` found, unless a later read is stored; raises
        SellerAlreadyLinked."""
        fields = {
            **_snapshot_fields(snapshot),
            "last_event_id": event_id,
            "last_event_created": event_created,
        }
        try:
            return await store_read(self._accounts, account_id, ticket, fields)
        except DuplicateKeyError as exc:
            if "seller_id" not in ((exc.details or {}).get("keyPattern") or {}):
                raise
            raise SellerAlreadyLinked(account_id) from exc

    async def mark_deauthorized(self, account_id: str, at: datetime) -> None:
        """Repeats and reorderings change nothing: the latest deauthorization time wins."""
        await self._accounts.update_one(
            {"_id": account_id},
            {
                "$set": {"deauthorized": True, "updated_at": datetime.now(UTC)},
                "$max": {"deauthorized_at": at},
            },
            upsert=True,
        )


def _snapshot_fields(snapshot: AccountSnapshot) -> dict[str, Any]:
    requirements = snapshot.requirements
    fields: dict[str, Any] = {
        "charges_enabled": snapshot.charges_enabled,
        "payouts_enabled": snapshot.payouts_enabled,
        "details_submitted": snapshot.details_submitted,
        "capabilities": dict(snapshot.capabilities),
        "disabled_reason": snapshot.disabled_reason,
        "requirements": {
            "currently_due": requirements.currently_due,
            "eventually_due": requirements.eventually_due,
            "past_due": requirements.past_due,
            "pending_verification": requirements.pending_verification,
            "current_deadline": requirements.current_deadline,
            "errors": requirements.errors,
        },
    }
    if snapshot.seller_id:
        fields["seller_id"] = snapshot.seller_id
    return fields


def _account(document: Document) -> StripeAccount:
    requirements = document.get("requirements") or {}
    return StripeAccount(
        id=document["_id"],
        seller_id=document.get("seller_id"),
        charges_enabled=document.get("charges_enabled", False),
        payouts_enabled=document.get("payouts_enabled", False),
        details_submitted=document.get("details_submitted", False),
        capabilities=document.get("capabilities", {}),
        disabled_reason=document.get("disabled_reason"),
        requirements=RequirementsSummary(**requirements),
        deauthorized=document.get("deauthorized", False),
        deauthorized_at=document.get("deauthorized_at"),
        last_event_created=document.get("last_event_created"),
        last_event_id=document.get("last_event_id"),
    )
