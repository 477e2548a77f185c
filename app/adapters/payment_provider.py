"""The payment provider as the services see it: a protocol and plain values, no Stripe types.

Every method that creates or changes something takes our own operation id and derives the
provider's idempotency key from it with `idempotency_key`, so a retry, a replay by the
janitor or a second process asking for the same operation can never create a second object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from app.domain.money import Money


class OperationKind(StrEnum):
    """What an operation does at the provider; also the prefix of its idempotency key."""

    ACCOUNT = "account"
    CHECKOUT = "checkout"
    TOPUP = "topup"
    CANCEL_PAYMENT_INTENT = "cancel_payment_intent"
    TRANSFER = "transfer"
    REVERSAL = "reversal"
    REFUND = "refund"
    PAYOUT = "payout"
    DISPUTE_EVIDENCE = "dispute_evidence"
    DISPUTE_CLOSE = "dispute_close"


def idempotency_key(kind: OperationKind, operation_id: str) -> str:
    return f"{kind}:{operation_id}"


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    id: str
    email: str | None
    country: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    transfers_capability: str | None
    requirements_due: tuple[str, ...]
    disabled_reason: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderAccountLink:
    url: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class ProviderPaymentIntent:
    id: str
    client_secret: str | None
    status: str
    amount: int
    currency: str
    latest_charge: str | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderTransfer:
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
class ProviderTransferReversal:
    id: str
    transfer: str
    amount: int
    currency: str
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderRefund:
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
class ProviderPayout:
    id: str
    amount: int
    currency: str
    status: str
    arrival_date: int
    failure_code: str | None
    created: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderBalance:
    available: tuple[Money, ...]
    pending: tuple[Money, ...]

    def available_in(self, currency: str) -> int:
        return sum(money.amount for money in self.available if money.currency == currency)


@dataclass(frozen=True, slots=True)
class ProviderBalanceTransaction:
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
class ProviderDispute:
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


class PaymentProvider(Protocol):
    """The base payment adapter interface the services depend on."""

    async def create_connected_account(
        self, seller_id: str, email: str, country: str, metadata: Mapping[str, str] | None = None
    ) -> ProviderAccount: ...

    async def create_account_link(
        self, account: str, refresh_url: str, return_url: str
    ) -> ProviderAccountLink: ...

    async def retrieve_account(self, account: str) -> ProviderAccount: ...

    async def create_payment_intent_on_platform(
        self, order_id: str, amount: int, currency: str, metadata: Mapping[str, str] | None = None
    ) -> ProviderPaymentIntent: ...

    async def create_topup_intent(
        self, topup_id: str, user_id: str, amount: int, currency: str
    ) -> ProviderPaymentIntent: ...

    async def retrieve_payment_intent(self, payment_intent: str) -> ProviderPaymentIntent: ...

    async def cancel_payment_intent(self, payment_intent: str) -> ProviderPaymentIntent: ...

    async def create_transfer_to_seller(
        self,
        escrow_id: str,
        order_id: str,
        destination: str,
        amount: int,
        currency: str,
        source_transaction: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ProviderTransfer: ...

    async def reverse_transfer(
        self, reversal_id: str, transfer_id: str, amount: int | None = None
    ) -> ProviderTransferReversal: ...

    async def create_refund(
        self,
        refund_id: str,
        payment_intent: str,
        amount: int | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ProviderRefund: ...

    async def create_payout(
        self, payout_id: str, account: str, amount: int, currency: str
    ) -> ProviderPayout: ...

    async def retrieve_balance(self, account: str | None = None) -> ProviderBalance: ...

    async def retrieve_dispute(self, dispute_id: str) -> ProviderDispute: ...

    async def submit_dispute_evidence(
        self, evidence_id: str, dispute_id: str, evidence: DisputeEvidence, submit: bool = True
    ) -> ProviderDispute: ...

    async def close_dispute(self, dispute_id: str) -> ProviderDispute: ...

    def iter_balance_transactions(
        self, created_from: datetime, created_to: datetime, account: str | None = None
    ) -> AsyncIterator[ProviderBalanceTransaction]: ...

    def iter_payment_intents(
        self, created_from: datetime, created_to: datetime
    ) -> AsyncIterator[ProviderPaymentIntent]: ...

    def iter_transfers(
        self, created_from: datetime, created_to: datetime
    ) -> AsyncIterator[ProviderTransfer]: ...

    def iter_refunds(self, created_from: datetime, created_to: datetime) -> AsyncIterator[ProviderRefund]: ...

    def iter_payouts(
        self, created_from: datetime, created_to: datetime, account: str | None = None
    ) -> AsyncIterator[ProviderPayout]: ...

    def iter_disputes(
        self, created_from: datetime, created_to: datetime
    ) -> AsyncIterator[ProviderDispute]: ...

    async def find_account_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> ProviderAccount | None: ...

    async def find_payment_intent_by_metadata(self, key: str, value: str) -> ProviderPaymentIntent | None: ...

    async def find_transfer_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> ProviderTransfer | None: ...

    async def find_reversal_by_metadata(
        self, transfer_id: str, key: str, value: str
    ) -> ProviderTransferReversal | None: ...

    async def find_refund_by_metadata(
        self, key: str, value: str, created_from: datetime
    ) -> ProviderRefund | None: ...

    async def find_payout_by_metadata(
        self, account: str, key: str, value: str, created_from: datetime
    ) -> ProviderPayout | None: ...
