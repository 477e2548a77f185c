"""The latest known state of each connected Stripe account, mirrored from Connect webhooks.

`stripe_accounts` has one document per Stripe account id (`_id`); `seller_id` comes from the
account's metadata (`metadata.seller_id`), which onboarding sets when it creates the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from app.db import Collections, Database, Document
from app.domain.webhook_events import EventVersion, WebhookEvent
from app.errors import ServiceError
from app.services.webhooks.ordering import apply_if_newer
from app.services.webhooks.registry import HandlerRegistry, WebhookContext

log = structlog.get_logger(__name__)

REQUIREMENT_LISTS = ("currently_due", "eventually_due", "past_due", "pending_verification")


class SellerAccountConflict(ServiceError):
    code = "seller_account_conflict"
    status = 409
    title = "The seller is already linked to another Stripe account"


def account_snapshot(account: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a Stripe `account` object the service acts on."""
    requirements = account.get("requirements") or {}
    snapshot: dict[str, Any] = {
        "charges_enabled": account.get("charges_enabled") is True,
        "payouts_enabled": account.get("payouts_enabled") is True,
        "details_submitted": account.get("details_submitted") is True,
        "capabilities": dict(account.get("capabilities") or {}),
        "disabled_reason": requirements.get("disabled_reason"),
        "requirements": _requirements_summary(requirements),
    }
    seller_id = (account.get("metadata") or {}).get("seller_id")
    if isinstance(seller_id, str) and seller_id:
        snapshot["seller_id"] = seller_id
    return snapshot


def _requirements_summary(requirements: Mapping[str, Any]) -> dict[str, Any]:
    deadline = requirements.get("current_deadline")
    return {
        **{name: list(requirements.get(name) or []) for name in REQUIREMENT_LISTS},
        "current_deadline": datetime.fromtimestamp(deadline, UTC) if isinstance(deadline, int) else None,
        "errors": [
            {"requirement": error.get("requirement"), "code": error.get("code")}
            for error in requirements.get("errors") or []
        ],
    }


class StripeAccounts:
    def __init__(self, database: Database) -> None:
        self._accounts = database[Collections.STRIPE_ACCOUNTS]

    async def get(self, account_id: str) -> Document | None:
        return await self._accounts.find_one({"_id": account_id})

    async def record_snapshot(self, account: Mapping[str, Any], version: EventVersion) -> bool:
        """Store the account's state unless a newer event already did; whether it was stored."""
        account_id: str = account["id"]
        snapshot = account_snapshot(account)
        try:
            applied = await apply_if_newer(self._accounts, account_id, version, snapshot)
        except DuplicateKeyError as exc:
            if "seller_id" not in ((exc.details or {}).get("keyPattern") or {}):
                raise
            raise SellerAccountConflict(
                f"Stripe account {account_id} names seller {snapshot.get('seller_id')} in its "
                "metadata, but that seller is already linked to another Stripe account"
            ) from exc
        log.info("stripe_account_snapshot", stripe_account=account_id, applied=applied)
        return applied

    async def record_deauthorization(self, account_id: str, at: datetime) -> None:
        """The platform lost access to the account; repeats and reorderings change nothing."""
        await self._accounts.update_one(
            {"_id": account_id},
            {
                "$set": {"deauthorized": True, "updated_at": datetime.now(UTC)},
                "$max": {"deauthorized_at": at},
            },
            upsert=True,
        )
        log.warning("stripe_account_deauthorized", stripe_account=account_id)


async def on_account_updated(context: WebhookContext, event: WebhookEvent) -> None:
    if event.account is None:  # the platform's own account, not a connected one
        return
    await StripeAccounts(context.database).record_snapshot(event.data_object, event.version)


async def on_application_deauthorized(context: WebhookContext, event: WebhookEvent) -> None:
    # The event's object is the platform's application; the account is the event's `account`.
    if event.account is None:
        raise ValueError(f"{event.type} event {event.id} names no connected account")
    await StripeAccounts(context.database).record_deauthorization(event.account, event.created)


def register_webhook_handlers(registry: HandlerRegistry) -> None:
    registry.register("account.updated", on_account_updated)
    registry.register("account.application.deauthorized", on_application_deauthorized)
