"""The `stripe_accounts` collection: the latest known state of each connected Stripe account.

One document per Stripe account id (`_id`); `seller_id` comes from the account's metadata,
which onboarding sets when it creates the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.webhooks import EventVersion
from app.services.webhooks import apply_if_newer

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
    """A connected account as last mirrored, with the event that wrote it."""

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

    async def apply_snapshot(self, account_id: str, snapshot: AccountSnapshot, version: EventVersion) -> bool:
        """Store the snapshot unless a newer event already did; raises SellerAlreadyLinked."""
        try:
            return await apply_if_newer(self._accounts, account_id, version, _snapshot_fields(snapshot))
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
