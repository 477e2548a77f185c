"""The payment provider on Stripe: one `StripeClient` per process, async calls, typed params.

The SDK pins the API version it was generated for (`stripe.api_version`) and sends it as
`Stripe-Version` on every request, so upgrading the SDK is what changes the API version.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar, cast

import stripe
import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from app.adapters import stripe_metrics
from app.adapters.payment_provider import (
    Account,
    AccountLink,
    Balance,
    BalanceTransaction,
    Charge,
    Dispute,
    DisputeEvidence,
    PaymentIntent,
    Payout,
    Refund,
    Transfer,
    TransferReversal,
)
from app.adapters.stripe_errors import map_stripe_error, should_retry, stripe_code
from app.adapters.stripe_objects import (
    to_account,
    to_account_link,
    to_balance,
    to_balance_transaction,
    to_charge,
    to_dispute,
    to_payment_intent,
    to_payout,
    to_refund,
    to_reversal,
    to_transfer,
)
from app.config import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")
S = TypeVar("S", bound=stripe.StripeObject)
P = TypeVar("P")
L = TypeVar("L", bound=Mapping[str, Any])
# One page of a list: the objects after `starting_after` (None: the first page).
PageFetch = Callable[[str | None], Awaitable[stripe.ListObject[S]]]

PAGE_SIZE = 100
# Objects created a moment after a clock reading on our side still fall inside a window ending now.
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Our retries of transient failures, on top of the SDK's own network retries."""

    attempts: int = 3
    initial_wait_seconds: float = 0.5
    max_wait_seconds: float = 8.0


def build_stripe_client(settings: Settings) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
    http_client = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
    client = stripe.StripeClient(
        settings.stripe_secret_key.get_secret_value(),
        http_client=http_client,
        base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
        max_network_retries=settings.stripe_max_network_retries,
    )
    return client, http_client


def _timestamps(created_from: datetime, created_to: datetime) -> tuple[int, int]:
    return int(created_from.timestamp()), int(created_to.timestamp())


def _until_now() -> datetime:
    return datetime.now(UTC) + _CLOCK_SKEW


def _after(params: L, starting_after: str | None) -> L:
    """A list's parameters for the page after the object `starting_after` (None: the first page)."""
    return params if starting_after is None else cast(L, {**params, "starting_after": starting_after})


def _search_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class StripeAdapter:
    """`PaymentProvider` on Stripe Connect; the platform account is charged, never a seller's."""

    def __init__(
        self, settings: Settings, retry: RetryPolicy | None = None, page_size: int = PAGE_SIZE
    ) -> None:
        self._client, self._http_client = build_stripe_client(settings)
        self._stripe = self._client.v1
        self._retry = retry or RetryPolicy(
            attempts=settings.stripe_retry_attempts, max_wait_seconds=settings.stripe_retry_max_wait_seconds
        )
        self._page_size = page_size
        log.info("stripe_client_ready", api_version=stripe.api_version, api_base=settings.stripe_api_base)

    async def close(self) -> None:
        # The SDK leaves close_async unannotated; name its type here rather than silence mypy.
        close: Callable[[], Awaitable[None]] = self._http_client.close_async
        await close()

    # Accounts

    async def create_connected_account(
        self,
        seller_id: str,
        email: str,
        country: str,
        metadata: Mapping[str, str] | None = None,
        *,
        card_payments: bool = False,
        idempotency_key: str,
    ) -> Account:
        """An account the platform controls, as a Custom account is: no Stripe dashboard, the
        platform pays Stripe's fees and bears losses, and requirements are collected through
        Stripe-hosted onboarding. Payouts are manual: the seller asks for them through us.

        The `recipient` service agreement (transfers only) is what cross-border payouts need;
        an account that takes card payments itself needs the `full` one (Stripe refuses
        `card_payments` under `recipient`).
        """
        capabilities: stripe.params.AccountCreateParamsCapabilities = {"transfers": {"requested": True}}
        if card_payments:
            capabilities["card_payments"] = {"requested": True}
        params: stripe.params.AccountCreateParams = {
            "country": country,
            "email": email,
            "controller": {
                "stripe_dashboard": {"type": "none"},
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "requirement_collection": "application",
            },
            "capabilities": capabilities,
            "tos_acceptance": {"service_agreement": "full" if card_payments else "recipient"},
            "settings": {"payouts": {"schedule": {"interval": "manual"}}},
            "metadata": {**(metadata or {}), "seller_id": seller_id},
        }
        account = await self._call(
            "accounts.create",
            lambda: self._stripe.accounts.create_async(params, {"idempotency_key": idempotency_key}),
            idempotency_key,
        )
        return to_account(account)

    async def create_account_link(
        self, account: str, refresh_url: str, return_url: str, *, idempotency_key: str
    ) -> AccountLink:
        """A fresh onboarding link. The key is unique per link request (never reused by another
        request: a link is single use), and the same through every retry of that request, so a
        retry after a lost answer gets the same link rather than a second one."""
        params: stripe.params.AccountLinkCreateParams = {
            "account": account,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
            # Everything Stripe will ever need, so the seller finishes in one go.
            "collection_options": {"fields": "eventually_due"},
        }
        link = await self._call(
            "account_links.create",
            lambda: self._stripe.account_links.create_async(params, {"idempotency_key": idempotency_key}),
            idempotency_key,
            account=account,
        )
        return to_account_link(link)

    async def retrieve_account(self, account: str) -> Account:
        found = await self._call("accounts.retrieve", lambda: self._stripe.accounts.retrieve_async(account))
        return to_account(found)

    # Payment intents

    async def create_payment_intent_on_platform(
        self,
        order_id: str,
        amount: int,
        currency: str,
        metadata: Mapping[str, str] | None = None,
        *,
        idempotency_key: str,
    ) -> PaymentIntent:
        """The checkout charge, on the platform account: no `on_behalf_of`, no `transfer_data`."""
        params: stripe.params.PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency,
            "automatic_payment_methods": {"enabled": True},
            "transfer_group": order_id,
            "metadata": {**(metadata or {}), "order_id": order_id, "purpose": "checkout"},
        }
        return await self._create_payment_intent(idempotency_key, params)

    async def create_topup_intent(
        self, topup_id: str, user_id: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentIntent:
        params: stripe.params.PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency,
            "automatic_payment_methods": {"enabled": True},
            "metadata": {"topup_id": topup_id, "user_id": user_id, "purpose": "wallet_topup"},
        }
        return await self._create_payment_intent(idempotency_key, params)

    async def _create_payment_intent(
        self, key: str, params: stripe.params.PaymentIntentCreateParams
    ) -> PaymentIntent:
        intent = await self._call(
            "payment_intents.create",
            lambda: self._stripe.payment_intents.create_async(params, {"idempotency_key": key}),
            key,
        )
        return to_payment_intent(intent)

    async def retrieve_payment_intent(self, payment_intent: str) -> PaymentIntent:
        intent = await self._call(
            "payment_intents.retrieve", lambda: self._stripe.payment_intents.retrieve_async(payment_intent)
        )
        return to_payment_intent(intent)

    async def retrieve_charge(self, charge: str) -> Charge:
        params: stripe.params.ChargeRetrieveParams = {"expand": ["balance_transaction"]}
        found = await self._call(
            "charges.retrieve", lambda: self._stripe.charges.retrieve_async(charge, params)
        )
        return to_charge(found)

    async def cancel_payment_intent(self, payment_intent: str, *, idempotency_key: str) -> PaymentIntent:
        intent = await self._call(
            "payment_intents.cancel",
            lambda: self._stripe.payment_intents.cancel_async(
                payment_intent, None, {"idempotency_key": idempotency_key}
            ),
            idempotency_key,
        )
        return to_payment_intent(intent)

    # Transfers and reversals

    async def create_transfer_to_seller(
        self,
        escrow_id: str,
        order_id: str,
        destination: str,
        amount: int,
        currency: str,
        source_transaction: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        idempotency_key: str,
    ) -> Transfer:
        """Move `amount` (the seller's net, fee already taken) to the seller's connected account."""
        params: stripe.params.TransferCreateParams = {
            "amount": amount,
            "currency": currency,
            "destination": destination,
            "transfer_group": order_id,
            "metadata": {**(metadata or {}), "escrow_id": escrow_id, "order_id": order_id},
        }
        if source_transaction is not None:
            params["source_transaction"] = source_transaction
        transfer = await self._call(
            "transfers.create",
            lambda: self._stripe.transfers.create_async(params, {"idempotency_key": idempotency_key}),
            idempotency_key,
        )
        return to_transfer(transfer)

    async def retrieve_transfer(self, transfer_id: str) -> Transfer:
        found = await self._call(
            "transfers.retrieve", lambda: self._stripe.transfers.retrieve_async(transfer_id)
        )
        return to_transfer(found)

    async def reverse_transfer(
        self, reversal_id: str, transfer_id: str, amount: int | None = None, *, idempotency_key: str
    ) -> TransferReversal:
        params: stripe.params.TransferReversalCreateParams = {"metadata": {"reversal_id": reversal_id}}
        if amount is not None:
            params["amount"] = amount
        reversal = await self._call(
            "transfers.reversals.create",
            lambda: self._stripe.transfers.reversals.create_async(
                transfer_id, params, {"idempotency_key": idempotency_key}
            ),
            idempotency_key,
        )
        return to_reversal(reversal)

    async def retrieve_transfer_reversal(self, transfer_id: str, reversal_id: str) -> TransferReversal:
        found = await self._call(
            "transfers.reversals.retrieve",
            lambda: self._stripe.transfers.reversals.retrieve_async(transfer_id, reversal_id),
        )
        return to_reversal(found)

    # Refunds and payouts

    async def create_refund(
        self,
        refund_id: str,
        payment_intent: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        idempotency_key: str,
    ) -> Refund:
        params: stripe.params.RefundCreateParams = {
            "payment_intent": payment_intent,
            "metadata": {**(metadata or {}), "refund_id": refund_id},
        }
        if amount is not None:
            params["amount"] = amount
        if reason is not None:
            params["reason"] = reason
        refund = await self._call(
            "refunds.create",
            lambda: self._stripe.refunds.create_async(params, {"idempotency_key": idempotency_key}),
            idempotency_key,
        )
        return to_refund(refund)

    async def retrieve_refund(self, refund_id: str) -> Refund:
        found = await self._call("refunds.retrieve", lambda: self._stripe.refunds.retrieve_async(refund_id))
        return to_refund(found)

    async def create_payout(
        self, payout_id: str, account: str, amount: int, currency: str, *, idempotency_key: str
    ) -> Payout:
        """A payout from the seller's connected account to the seller's bank."""
        params: stripe.params.PayoutCreateParams = {
            "amount": amount,
            "currency": currency,
            "metadata": {"payout_id": payout_id},
        }
        payout = await self._call(
            "payouts.create",
            lambda: self._stripe.payouts.create_async(
                params, {"idempotency_key": idempotency_key, "stripe_account": account}
            ),
            idempotency_key,
            account=account,
        )
        return to_payout(payout)

    async def retrieve_payout(self, account: str, payout_id: str) -> Payout:
        payout = await self._call(
            "payouts.retrieve",
            lambda: self._stripe.payouts.retrieve_async(payout_id, None, {"stripe_account": account}),
            account=account,
        )
        return to_payout(payout)

    async def retrieve_balance(self, account: str | None = None) -> Balance:
        balance = await self._call(
            "balance.retrieve",
            lambda: self._stripe.balance.retrieve_async(None, {"stripe_account": account}),
            account=account,
        )
        return to_balance(balance)

    async def retrieve_balance_transaction(self, balance_transaction: str) -> BalanceTransaction:
        found = await self._call(
            "balance_transactions.retrieve",
            lambda: self._stripe.balance_transactions.retrieve_async(balance_transaction),
        )
        return to_balance_transaction(found)

    # Disputes

    async def retrieve_dispute(self, dispute_id: str) -> Dispute:
        dispute = await self._call(
            "disputes.retrieve", lambda: self._stripe.disputes.retrieve_async(dispute_id)
        )
        return to_dispute(dispute)

    async def submit_dispute_evidence(
        self,
        dispute_id: str,
        evidence: DisputeEvidence,
        submit: bool = True,
        *,
        idempotency_key: str,
    ) -> Dispute:
        # DisputeEvidence's fields are named after Stripe's evidence fields (a test pins it).
        texts = cast(
            stripe.params.DisputeUpdateParamsEvidence,
            {name: text for name, text in asdict(evidence).items() if text is not None},
        )
        params: stripe.params.DisputeUpdateParams = {"evidence": texts, "submit": submit}
        dispute = await self._call(
            "disputes.update",
            lambda: self._stripe.disputes.update_async(
                dispute_id, params, {"idempotency_key": idempotency_key}
            ),
            idempotency_key,
        )
        return to_dispute(dispute)

    async def close_dispute(self, dispute_id: str, *, idempotency_key: str) -> Dispute:
        """Accept the chargeback: the dispute is lost, the buyer keeps the money."""
        dispute = await self._call(
            "disputes.close",
            lambda: self._stripe.disputes.close_async(dispute_id, None, {"idempotency_key": idempotency_key}),
            idempotency_key,
        )
        return to_dispute(dispute)

    # Listings over a time window, one page in memory at a time

    def iter_balance_transactions(
        self, created_from: datetime, created_to: datetime, account: str | None = None
    ) -> AsyncGenerator[BalanceTransaction, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.BalanceTransactionListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "balance_transactions.list",
            lambda after: self._stripe.balance_transactions.list_async(
                _after(params, after), {"stripe_account": account}
            ),
            to_balance_transaction,
        )

    def iter_payment_intents(
        self, created_from: datetime, created_to: datetime
    ) -> AsyncGenerator[PaymentIntent, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.PaymentIntentListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "payment_intents.list",
            lambda after: self._stripe.payment_intents.list_async(_after(params, after)),
            to_payment_intent,
        )

    def iter_transfers(self, created_from: datetime, created_to: datetime) -> AsyncGenerator[Transfer, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.TransferListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "transfers.list",
            lambda after: self._stripe.transfers.list_async(_after(params, after)),
            to_transfer,
        )

    def iter_refunds(self, created_from: datetime, created_to: datetime) -> AsyncGenerator[Refund, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.RefundListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "refunds.list", lambda after: self._stripe.refunds.list_async(_after(params, after)), to_refund
        )

    def iter_payouts(
        self, created_from: datetime, created_to: datetime, account: str | None = None
    ) -> AsyncGenerator[Payout, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.PayoutListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "payouts.list",
            lambda after: self._stripe.payouts.list_async(_after(params, after), {"stripe_account": account}),
            to_payout,
        )

    def iter_disputes(self, created_from: datetime, created_to: datetime) -> AsyncGenerator[Dispute, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.DisputeListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "disputes.list", lambda after: self._stripe.disputes.list_async(_after(params, after)), to_dispute
        )

    def _iter_accounts(self, created_from: datetime, created_to: datetime) -> AsyncGenerator[Account, None]:
        start, end = _timestamps(created_from, created_to)
        params: stripe.params.AccountListParams = {
            "created": {"gte": start, "lt": end},
            "limit": self._page_size,
        }
        return self._iterate(
            "accounts.list", lambda after: self._stripe.accounts.list_async(_after(params, after)), to_account
        )

    def iter_transfer_reversals(self, transfer_id: str) -> AsyncGenerator[TransferReversal, None]:
        params: stripe.params.TransferReversalListParams = {"limit": self._page_size}
        return self._iterate(
            "transfers.reversals.list",
            lambda after: self._stripe.transfers.reversals.list_async(transfer_id, _after(params, after)),
            to_reversal,
        )

    # Finding what an operation created, by the metadata we put on it (Stripe forgets keys after 24 h)

    async def find_account_by_metadata(self, key: str, value: str, created_from: datetime) -> Account | None:
        return await _first_with_metadata(self._iter_accounts(created_from, _until_now()), key, value)

    async def find_payment_intent_by_metadata(self, key: str, value: str) -> PaymentIntent | None:
        params: stripe.params.PaymentIntentSearchParams = {
            "query": f"metadata[{_search_literal(key)}]:{_search_literal(value)}",
            "limit": 1,
        }
        found = await self._call(
            "payment_intents.search", lambda: self._stripe.payment_intents.search_async(params)
        )
        return to_payment_intent(found.data[0]) if found.data else None

    async def find_transfer_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> Transfer | None:
        return await _first_with_metadata(self.iter_transfers(created_from, _until_now()), key, value)

    async def find_reversal_by_metadata(
        self, transfer_id: str, key: str, value: str
    ) -> TransferReversal | None:
        return await _first_with_metadata(self.iter_transfer_reversals(transfer_id), key, value)

    async def find_refund_by_metadata(self, key: str, value: str, created_from: datetime) -> Refund | None:
        return await _first_with_metadata(self.iter_refunds(created_from, _until_now()), key, value)

    async def find_payout_by_metadata(
        self, account: str, key: str, value: str, created_from: datetime
    ) -> Payout | None:
        return await _first_with_metadata(self.iter_payouts(created_from, _until_now(), account), key, value)

    # Every call goes through here: retries, error mapping, logging

    async def _call(
        self,
        operation: str,
        send: Callable[[], Awaitable[T]],
        key: str | None = None,
        *,
        account: str | None = None,
    ) -> T:
        """Send with retries of transient failures; a fixed `key` makes every attempt the same request."""
        context: dict[str, Any] = {"operation": operation, "idempotency_key": key, "stripe_account": account}
        started = time.perf_counter()
        try:
            result = await self._with_retries(send, context)
        except stripe.StripeError as error:
            log.warning(
                "stripe_call_failed",
                **context,
                error=type(error).__name__,
                stripe_code=stripe_code(error),
                http_status=error.http_status,
                stripe_request_id=error.request_id,
                duration_ms=_elapsed_ms(started),
            )
            raise map_stripe_error(error, changes_state=key is not None) from error
        log.info(
            "stripe_call", **context, object_id=getattr(result, "id", None), duration_ms=_elapsed_ms(started)
        )
        return result

    async def _with_retries(self, send: Callable[[], Awaitable[T]], context: dict[str, Any]) -> T:
        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.info(
                "stripe_call_retrying",
                **context,
                attempt=state.attempt_number,
                error=type(error).__name__,
                stripe_code=stripe_code(error) if isinstance(error, stripe.StripeError) else None,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=wait_random_exponential(
                multiplier=self._retry.initial_wait_seconds, max=self._retry.max_wait_seconds
            ),
            retry=retry_if_exception(should_retry),
            before_sleep=log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await _measured(context["operation"], send)
        raise AssertionError("tenacity either returns a result or re-raises the last error")

    async def _iterate(
        self, operation: str, fetch: PageFetch[S], convert: Callable[[S], P]
    ) -> AsyncGenerator[P, None]:
        """Every object of a list, one page in memory at a time; each page is a call of its own
        (retried, logged and measured like any other)."""
        after: str | None = None
        while True:
            page = await self._call(operation, partial(fetch, after))
            for item in page.data:
                yield convert(item)
            if not page.has_more or not page.data:
                return
            after = str(page.data[-1]["id"])


class _HasMetadata(Protocol):
    @property
    def metadata(self) -> dict[str, str]: ...


M = TypeVar("M", bound=_HasMetadata)


async def _first_with_metadata(items: AsyncGenerator[M, None], key: str, value: str) -> M | None:
    async with aclosing(items):
        async for item in items:
            if item.metadata.get(key) == value:
                return item
    return None


async def _measured(operation: str, send: Callable[[], Awaitable[T]]) -> T:
    """One HTTP attempt, counted by its outcome and timed (`app.adapters.stripe_metrics`)."""
    started = time.perf_counter()
    try:
        result = await send()
    except stripe.StripeError as error:
        stripe_metrics.observe(operation, error, time.perf_counter() - started)
        raise
    stripe_metrics.observe(operation, None, time.perf_counter() - started)
    return result


def _elapsed_ms(started_seconds: float) -> int:
    return round((time.perf_counter() - started_seconds) * 1000)
