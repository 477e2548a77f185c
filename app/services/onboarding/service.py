"""Each connected Stripe account as Stripe has it, read again through the adapter whenever a
Connect webhook says it changed."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from app.adapters.payment_provider import Account, AccountRequirements, PaymentProvider
from app.db import Database
from app.errors import ServiceError
from app.services.onboarding.repository import (
    AccountSnapshot,
    RequirementsSummary,
    SellerAlreadyLinked,
    StripeAccount,
    StripeAccountRepository,
)

log = structlog.get_logger(__name__)


class SellerAccountConflict(ServiceError):
    code = "seller_account_conflict"
    status = 409
    title = "The seller is already linked to another Stripe account"


def account_snapshot(account: Account) -> AccountSnapshot:
    """The parts of a Stripe account the service acts on."""
    return AccountSnapshot(
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        details_submitted=account.details_submitted,
        capabilities=dict(account.capabilities),
        disabled_reason=account.requirements.disabled_reason,
        requirements=_requirements_summary(account.requirements),
        seller_id=account.metadata.get("seller_id") or None,
    )


def _requirements_summary(requirements: AccountRequirements) -> RequirementsSummary:
    deadline = requirements.current_deadline
    return RequirementsSummary(
        currently_due=list(requirements.currently_due),
        eventually_due=list(requirements.eventually_due),
        past_due=list(requirements.past_due),
        pending_verification=list(requirements.pending_verification),
        current_deadline=datetime.fromtimestamp(deadline, UTC) if deadline is not None else None,
        errors=[{"requirement": error.requirement, "code": error.code} for error in requirements.errors],
    )


class StripeAccounts:
    def __init__(self, database: Database, provider: PaymentProvider) -> None:
        self._accounts = StripeAccountRepository(database)
        self._provider = provider

    async def get(self, account_id: str) -> StripeAccount | None:
        return await self._accounts.get(account_id)

    async def transfer_destination(self, seller_id: str) -> str | None:
        """The connected account seller `seller_id` may receive transfers on now, if any."""
        return await self._accounts.transfer_destination(seller_id)

    async def refresh(self, account_id: str, event_id: str, event_created: datetime) -> bool:
        """Read the account from Stripe now and store that state, unless a read that started
        later is stored already; whether it was stored. The event only says when to read.

        An account's state decides whether a seller may be paid, so it is never taken from an
        event: events of the same second cannot be ordered (`app.services.webhooks.ordering`).
        """
        ticket = await self._accounts.reserve_read(account_id)
        snapshot = account_snapshot(await self._provider.retrieve_account(account_id))
        try:
            stored = await self._accounts.store_snapshot(
                account_id, snapshot, ticket, event_id, event_created
            )
        except SellerAlreadyLinked as exc:
            raise SellerAccountConflict(
                f"Stripe account {account_id} names seller {snapshot.seller_id} in its "
                "metadata, but that seller is already linked to another Stripe account"
            ) from exc
        log.info("stripe_account_refreshed", stripe_account=account_id, stored=stored, read_ticket=ticket)
        return stored

    async def record_deauthorization(self, account_id: str, at: datetime) -> None:
        """The platform lost access to the account; repeats and reorderings change nothing."""
        await self._accounts.mark_deauthorized(account_id, at)
        log.warning("stripe_account_deauthorized", stripe_account=account_id)
