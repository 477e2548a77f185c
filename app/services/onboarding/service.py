"""Seller onboarding as sellers and staff use it: a fresh link to Stripe's hosted onboarding (the
seller's connected account created on first need), the seller's verification status, a refresh
of it from Stripe, and the list of sellers for the admin console."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import structlog

from app.adapters.marketplace_users import MarketplaceUsers
from app.adapters.payment_provider import PaymentProvider
from app.adapters.stripe_errors import PROVIDER_ERRORS, StripeInvalidRequest
from app.config import Settings
from app.domain.audit import Actor
from app.domain.onboarding import (
    NOT_STARTED,
    AccountSnapshot,
    SellerProfile,
    SellerStatus,
    Verification,
    country_code,
    is_country_code,
    missing_profile_fields,
)
from app.errors import InvalidRequest, NotFound, ServiceError
from app.services.onboarding.accounts import SellerAccountConflict, StripeAccounts
from app.services.onboarding.repository import SellerFilter, SellerPage, StripeAccount
from app.services.payment_operations import (
    PAYMENT_OPERATION_ERRORS,
    CreateConnectedAccount,
    PaymentOperations,
)

log = structlog.get_logger(__name__)


class SellerProfileIncomplete(InvalidRequest):
    code = "seller_profile_incomplete"
    title = "The seller's profile lacks what Stripe needs to open their account"
    members: ClassVar[Mapping[str, Any]] = {"missing": list[str]}


class SellerCountryUnsupported(InvalidRequest):
    code = "seller_country_unsupported"
    title = "Stripe cannot open an account for a seller in this country"
    members: ClassVar[Mapping[str, Any]] = {"country": str}


# What the routes calling each method declare.
LINK_ERRORS: tuple[type[ServiceError], ...] = (
    NotFound,
    SellerProfileIncomplete,
    SellerCountryUnsupported,
    SellerAccountConflict,
    *PAYMENT_OPERATION_ERRORS,
)
REFRESH_ERRORS: tuple[type[ServiceError], ...] = (NotFound, SellerAccountConflict, *PROVIDER_ERRORS)


@dataclass(frozen=True, slots=True)
class OnboardingLink:
    url: str
    expires_at: datetime
    account_id: str


@dataclass(frozen=True, slots=True)
class SellerStanding:
    """A seller's verification status as the seller's dashboard shows it."""

    seller_id: str
    status: SellerStatus
    status_reason: str | None
    can_receive_transfers: bool
    progress: int
    next_step: str
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    capabilities: dict[str, str]
    currently_due: list[str]
    past_due: list[str]
    eventually_due: list[str]
    pending_verification: list[str]
    disabled_reason: str | None
    current_deadline: datetime | None
    updated_at: datetime | None

    @classmethod
    def not_started(cls, seller_id: str) -> SellerStanding:
        return cls._of(seller_id, None, AccountSnapshot(), None, NOT_STARTED)

    @classmethod
    def of(cls, seller_id: str, account: StripeAccount) -> SellerStanding:
        snapshot = account.snapshot or AccountSnapshot()
        return cls._of(seller_id, account.id, snapshot, account.updated_at, account.verification())

    @classmethod
    def _of(
        cls,
        seller_id: str,
        account_id: str | None,
        snapshot: AccountSnapshot,
        updated_at: datetime | None,
        verification: Verification,
    ) -> SellerStanding:
        requirements = snapshot.requirements
        return cls(
            seller_id=seller_id,
            status=verification.status,
            status_reason=verification.status_reason,
            can_receive_transfers=verification.can_receive_transfers,
            progress=verification.progress,
            next_step=verification.next_step,
            account_id=account_id,
            charges_enabled=snapshot.charges_enabled,
            payouts_enabled=snapshot.payouts_enabled,
            details_submitted=snapshot.details_submitted,
            capabilities=dict(snapshot.capabilities),
            currently_due=list(requirements.currently_due),
            past_due=list(requirements.past_due),
            eventually_due=list(requirements.eventually_due),
            pending_verification=list(requirements.pending_verification),
            disabled_reason=snapshot.disabled_reason,
            current_deadline=requirements.current_deadline,
            updated_at=updated_at,
        )


class Onboarding:
    def __init__(
        self,
        accounts: StripeAccounts,
        operations: PaymentOperations,
        provider: PaymentProvider,
        users: MarketplaceUsers,
        settings: Settings,
    ) -> None:
        self._accounts = accounts
        self._operations = operations
        self._provider = provider
        self._users = users
        self._settings = settings

    async def onboarding_link(self, seller_id: str, actor: Actor) -> OnboardingLink:
        """A fresh link to Stripe's hosted onboarding for the seller's account, created first if
        the seller has none. Links are single use and short-lived: never stored, never reused."""
        account = await self._accounts.of_seller(seller_id) or await self._open_account(seller_id, actor)
        # One key per link request, the same through every retry of it: a retry after a lost
        # answer gets the link Stripe made, and no other request can ever be handed that link
        # (which a key from the client's X-Request-Id could do, if the client repeated it).
        link_request = uuid.uuid4().hex
        link = await self._provider.create_account_link(
            account.id,
            self._frontend_url(self._settings.onboarding_refresh_url, seller_id),
            self._frontend_url(self._settings.onboarding_return_url, seller_id),
            idempotency_key=f"account_link:{account.id}:{link_request}",
        )
        log.info("onboarding_link_created", seller_id=seller_id, stripe_account=account.id)
        return OnboardingLink(
            url=link.url, expires_at=datetime.fromtimestamp(link.expires_at, UTC), account_id=account.id
        )

    async def standing(self, seller_id: str) -> SellerStanding:
        """The seller's status as last read from Stripe; `not_started` before they have an account."""
        account = await self._accounts.of_seller(seller_id)
        if account is not None:
            return SellerStanding.of(seller_id, account)
        await self._profile(seller_id)  # an unknown seller is not found
        return SellerStanding.not_started(seller_id)

    async def refresh(self, seller_id: str, actor: Actor) -> SellerStanding:
        """Read the seller's account from Stripe now (a webhook may be late), then their status."""
        account = await self._accounts.of_seller(seller_id)
        if account is not None:
            await self._accounts.refresh(account.id, actor)
        return await self.standing(seller_id)

    async def page(self, where: SellerFilter, limit: int, starting_after: str | None) -> SellerPage:
        """Sellers with a connected account, newest account first."""
        return await self._accounts.page(where, limit, starting_after)

    async def _open_account(self, seller_id: str, actor: Actor) -> StripeAccount:
        profile = await self._profile(seller_id)
        email, country = self._checked(profile)
        request = CreateConnectedAccount(
            seller_id=seller_id,
            email=email,
            country=country,
            card_payments=self._settings.seller_card_payments,
        )
        try:
            # Keyed by the seller: concurrent first requests, in any process, make one account.
            account = await self._operations.run(request, refs={"seller_id": seller_id})
        except StripeInvalidRequest as exc:
            if exc.extensions.get("param") == "country":
                raise SellerCountryUnsupported(
                    f"Stripe refused to open an account in {country}", country=country
                ) from exc
            raise
        log.info("seller_account_opened", seller_id=seller_id, stripe_account=account.id)
        return await self._accounts.record_new_account(seller_id, account, actor)

    async def _profile(self, seller_id: str) -> SellerProfile:
        profile = await self._users.seller_profile(seller_id)
        if profile is None:
            raise NotFound(f"no seller {seller_id}")
        return profile

    def _checked(self, profile: SellerProfile) -> tuple[str, str]:
        """The profile's email and country, if Stripe can open an account with them."""
        missing = missing_profile_fields(profile)
        if missing or profile.email is None or profile.country is None:
            raise SellerProfileIncomplete(
                f"seller {profile.seller_id} has no valid {' or '.join(missing)} in their profile",
                missing=missing,
            )
        country = country_code(profile.country)
        if not is_country_code(country) or country not in self._settings.seller_country_set:
            raise SellerCountryUnsupported(
                f"sellers in {country!r} cannot receive payments through Stripe here", country=country
            )
        return profile.email, country

    @staticmethod
    def _frontend_url(template: str, seller_id: str) -> str:
        return template.replace("{seller_id}", quote(seller_id, safe=""))
