"""The payment provider as the services see it: a protocol and plain values, no Stripe types.

Every method that creates or changes something takes the idempotency key its payment request
built (`PaymentRequest.idempotency_key`), so a retry, a replay by the janitor or a second
process asking for the same operation can never create a second object. Webhook events arrive
as `WebhookEvent`s carrying the same typed objects.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from app.domain.money import Money
from app.domain.webhooks import MalformedEvent


@dataclass(frozen=True, slots=True)
class RequirementError:
    requirement: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class AccountRequirements:
    currently_due: tuple[str, ...] = ()
    eventually_due: tuple[str, ...] = ()
    past_due: tuple[str, ...] = ()
    pending_verification: tuple[str, ...] = ()
    current_deadline: int | None = None
    disabled_reason: str | None = None
    errors: tuple[RequirementError, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    email: str | None
    country: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    capabilities: dict[str, str]
    requirements: AccountRequirements
    metadata: dict[str, str] = field(default_factory=dict)
    # What Stripe will ask for later (never disabling the account now).
    future_requirements: AccountRequirements = AccountRequirements()
    created: int | None = None

    @property
    def transfers_capability(self) -> str | None:
        return self.capabilities.get("transfers")

    @property
    def requirements_due(self) -> tuple[str, ...]:
        return self.requirements.currently_due


@dataclass(frozen=True, slots=True)
class AccountLink:
    url: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    id: str
    client_secret: str | None
    status: str
    amount: int
    amount_received: int
    currency: str
    latest_charge: str | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    payment_intent: str | None
    amount: int
    amount_refunded: int
    currency: str
    status: str
    balance_transaction: str | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)
    # The balance transaction itself (amount, fee, net), when Stripe sent it expanded.
    settlement: BalanceTransaction | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    id: str
    amount: int
    currency: str
    destination: str | None
    transfer_group: str | None
    source_transaction: str | None
    amount_reversed: int
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransferReversal:
    id: str
    transfer: str
    amount: int
    currency: str
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_intent: str | None
    charge: str | None
    amount: int
    currency: str
    status: str | None
    reason: str | None
    failure_reason: str | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    amount: int
    currency: str
    status: str
    arrival_date: int
    failure_code: str | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)
    failure_message: str | None = None
    # Made by Stripe on the account's payout schedule rather than requested by an API call.
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class Balance:
    available: tuple[Money, ...]
    pending: tuple[Money, ...]

    def available_in(self, currency: str) -> int:
        return sum(money.amount for money in self.available if money.currency == currency)


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    id: str
    type: str
    reporting_category: str
    amount: int
    fee: int
    net: int
    currency: str
    status: str
    source: str | None
    created: int
    available_on: int


@dataclass(frozen=True, slots=True)
class Dispute:
    id: str
    charge: str | None
    payment_intent: str | None
    amount: int
    currency: str
    reason: str
    status: str
    evidence_due_by: int | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)
    # What Stripe took from (negative amounts) and gave back to (positive) the platform's
    # balance for it, each with its fee.
    balance_transactions: tuple[BalanceTransaction, ...] = ()


@dataclass(frozen=True, slots=True)
class DisputeEvidence:
    """The text evidence the platform sends for a chargeback; files are out of scope."""

    product_description: str | None = None
    customer_name: str | None = None
    customer_email_address: str | None = None
    customer_communication: str | None = None
    shipping_carrier: str | None = None
    shipping_tracking_number: str | None = None
    shipping_date: str | None = None
    refund_policy_disclosure: str | None = None
    uncategorized_text: str | None = None


@dataclass(frozen=True, slots=True)
class UnknownObject:
    """An event's object of a type the service does not read (or could not read as its type)."""

    type: str | None
    id: str | None


EventObject = (
    PaymentIntent
    | Charge
    | Account
    | Transfer
    | TransferReversal
    | Refund
    | Dispute
    | Payout
    | BalanceTransaction
    | UnknownObject
)
ObjectT = TypeVar("ObjectT", bound=EventObject)


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """The few facts of an event the admin API and reconciliation show, without the payload."""

    event_type: str
    object_type: str | None
    object_id: str | None
    account: str | None
    amount: int | None
    currency: str | None
    refs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified Stripe event: what it is about and its object, typed."""

    id: str
    type: str
    created: datetime
    livemode: bool
    account: str | None
    object: EventObject
    normalized: NormalizedEvent

    def object_as(self, kind: builtins.type[ObjectT]) -> ObjectT:
        """The event's object as `kind`; raises `MalformedEvent` if it is anything else."""
        if not isinstance(self.object, kind):
            raise MalformedEvent(
                f"event {self.id} ({self.type}) carries {self.object!r}, not a {kind.__name__}"
            )
        return self.object


class PaymentProvider(Protocol):
    """The base payment adapter interface the services depend on."""

    async def create_connected_account(
        self,
        seller_id: str,
        email: str,
        country: str,
        metadata: Mapping[str, str] | None = None,
        *,
        card_payments: bool = False,
        idempotency_key: str,
    ) -> Account: ...

    async def create_account_link(
        self, account: str, refresh_url: str, return_url: str, *, idempotency_key: str
    ) -> AccountLink: ...

    async def retrieve_account(self, account: str) -> Account: ...

    async def create_payment_intent_on_platform(
        self,
        order_id: str,
        amount: int,
        currency: str,
        metadata: Mapping[str, str] | None = None,
        *,
        idempotency_key: str,
    ) -> PaymentIntent: ...

    async def create_topup_intent(
        self, topup_id: str, user_id: str, amount: int, currency: str, *, idempotency_key: str
    ) -> PaymentIntent: ...

    async def retrieve_payment_intent(self, payment_intent: str) -> PaymentIntent: ...

    async def retrieve_charge(self, charge: str) -> Charge:
        """The charge with its balance transaction expanded (`settlement`), once Stripe knows it."""
        ...

    async def cancel_payment_intent(self, payment_intent: str, *, idempotency_key: str) -> PaymentIntent: ...

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
    ) -> Transfer: ...

    async def retrieve_transfer(self, transfer_id: str) -> Transfer: ...

    async def reverse_transfer(
        self, reversal_id: str, transfer_id: str, amount: int | None = None, *, idempotency_key: str
    ) -> TransferReversal: ...

    async def retrieve_transfer_reversal(self, transfer_id: str, reversal_id: str) -> TransferReversal: ...

    async def create_refund(
        self,
        refund_id: str,
        payment_intent: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        idempotency_key: str,
    ) -> Refund: ...

    async def retrieve_refund(self, refund_id: str) -> Refund: ...

    async def create_payout(
        self, payout_id: str, account: str, amount: int, currency: str, *, idempotency_key: str
    ) -> Payout: ...

    async def retrieve_payout(self, account: str, payout_id: str) -> Payout: ...

    async def retrieve_balance(self, account: str | None = None) -> Balance: ...

    async def retrieve_balance_transaction(self, balance_transaction: str) -> BalanceTransaction: ...

    async def retrieve_dispute(self, dispute_id: str) -> Dispute: ...

    async def submit_dispute_evidence(
        self,
        dispute_id: str,
        evidence: DisputeEvidence,
        submit: bool = True,
        *,
        idempotency_key: str,
    ) -> Dispute: ...

    async def close_dispute(self, dispute_id: str, *, idempotency_key: str) -> Dispute: ...

    def iter_balance_transactions(
        self, created_from: datetime, created_to: datetime, account: str | None = None
    ) -> AsyncIterator[BalanceTransaction]: ...

    def iter_payment_intents(
        self, created_from: datetime, created_to: datetime
    ) -> AsyncIterator[PaymentIntent]: ...

    def iter_transfers(self, created_from: datetime, created_to: datetime) -> AsyncIterator[Transfer]: ...

    def iter_transfer_reversals(self, transfer_id: str) -> AsyncIterator[TransferReversal]:
        """Every reversal of one transfer, whenever it was made."""
        ...

    def iter_refunds(self, created_from: datetime, created_to: datetime) -> AsyncIterator[Refund]: ...

    def iter_payouts(
        self, created_from: datetime, created_to: datetime, account: str | None = None
    ) -> AsyncIterator[Payout]: ...

    def iter_disputes(self, created_from: datetime, created_to: datetime) -> AsyncIterator[Dispute]: ...

    async def find_account_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> Account | None: ...

    async def find_payment_intent_by_metadata(self, key: str, value: str) -> PaymentIntent | None: ...

    async def find_transfer_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> Transfer | None: ...

    async def find_reversal_by_metadata(
        self, transfer_id: str, key: str, value: str
    ) -> TransferReversal | None: ...

    async def find_refund_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> Refund | None: ...

    async def find_payout_by_metadata(
        self, account: str, key: str, value: str, created_from: datetime
    ) -> Payout | None: ...
