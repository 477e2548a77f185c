"""The requests a payment operation can make, stored whole so they can be replayed exactly.

Each kind is a frozen dataclass whose fields are the arguments of one provider method. It knows
how to send itself, how to find what it created by our metadata once the provider has
forgotten its idempotency key, and how to rebuild its result from the operation's record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from app.adapters.payment_provider import (
    DisputeEvidence,
    OperationKind,
    PaymentProvider,
    ProviderAccount,
    ProviderDispute,
    ProviderPaymentIntent,
    ProviderPayout,
    ProviderRefund,
    ProviderTransfer,
    ProviderTransferReversal,
    idempotency_key,
)
from app.db import Document

R = TypeVar("R")

# Never written to MongoDB: a payment intent's client secret is fetched again when needed.
UNRECORDED_FIELDS = frozenset({"client_secret"})
# Statuses a dispute leaves once the platform has answered it.
ANSWERED_DISPUTE_STATUSES = frozenset(
    {"under_review", "warning_under_review", "won", "lost", "warning_closed"}
)


class PaymentRequest(ABC, Generic[R]):
    kind: ClassVar[OperationKind]
    result_type: ClassVar[type[Any]]

    @property
    @abstractmethod
    def operation_id(self) -> str:
        """Our own id of the operation, from which the idempotency key is derived."""

    @abstractmethod
    async def send(self, provider: PaymentProvider) -> R: ...

    @abstractmethod
    async def find(self, provider: PaymentProvider, created_from: datetime) -> R | None:
        """What this request created or changed, found without its idempotency key."""

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.kind, self.operation_id)

    def params(self) -> Document:
        return asdict(cast(Any, self))

    @classmethod
    def from_params(cls, params: Document) -> Self:
        return cls(**params)

    def refs(self) -> dict[str, str]:
        return {name: value for name, value in self.params().items() if name.endswith("_id") and value}

    async def recorded(self, provider: PaymentProvider, record: Document) -> R:
        """The result of an operation that already succeeded, rebuilt from its record."""
        values = {
            item.name: tuple(record[item.name]) if isinstance(record[item.name], list) else record[item.name]
            for item in fields(self.result_type)
        }
        return cast(R, self.result_type(**values))


def result_record(result: object) -> Document:
    return {name: value for name, value in asdict(cast(Any, result)).items() if name not in UNRECORDED_FIELDS}


class _PaymentIntentRequest(PaymentRequest[ProviderPaymentIntent]):
    result_type = ProviderPaymentIntent

    async def recorded(self, provider: PaymentProvider, record: Document) -> ProviderPaymentIntent:
        return await provider.retrieve_payment_intent(record["id"])


@dataclass(frozen=True)
class CreateConnectedAccount(PaymentRequest[ProviderAccount]):
    kind = OperationKind.ACCOUNT
    result_type = ProviderAccount
    seller_id: str
    email: str
    country: str

    @property
    def operation_id(self) -> str:
        return self.seller_id

    async def send(self, provider: PaymentProvider) -> ProviderAccount:
        return await provider.create_connected_account(self.seller_id, self.email, self.country)

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderAccount | None:
        return await provider.find_account_by_metadata("seller_id", self.seller_id, created_from)


@dataclass(frozen=True)
class CreateCheckoutIntent(_PaymentIntentRequest):
    kind = OperationKind.CHECKOUT
    order_id: str
    amount: int
    currency: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.order_id

    async def send(self, provider: PaymentProvider) -> ProviderPaymentIntent:
        return await provider.create_payment_intent_on_platform(
            self.order_id, self.amount, self.currency, self.metadata
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderPaymentIntent | None:
        return await provider.find_payment_intent_by_metadata("order_id", self.order_id)


@dataclass(frozen=True)
class CreateTopupIntent(_PaymentIntentRequest):
    kind = OperationKind.TOPUP
    topup_id: str
    user_id: str
    amount: int
    currency: str

    @property
    def operation_id(self) -> str:
        return self.topup_id

    async def send(self, provider: PaymentProvider) -> ProviderPaymentIntent:
        return await provider.create_topup_intent(self.topup_id, self.user_id, self.amount, self.currency)

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderPaymentIntent | None:
        return await provider.find_payment_intent_by_metadata("topup_id", self.topup_id)


@dataclass(frozen=True)
class CancelPaymentIntent(_PaymentIntentRequest):
    kind = OperationKind.CANCEL_PAYMENT_INTENT
    payment_intent_id: str

    @property
    def operation_id(self) -> str:
        return self.payment_intent_id

    async def send(self, provider: PaymentProvider) -> ProviderPaymentIntent:
        return await provider.cancel_payment_intent(self.payment_intent_id)

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderPaymentIntent | None:
        intent = await provider.retrieve_payment_intent(self.payment_intent_id)
        return intent if intent.status == "canceled" else None


@dataclass(frozen=True)
class CreateTransfer(PaymentRequest[ProviderTransfer]):
    kind = OperationKind.TRANSFER
    result_type = ProviderTransfer
    escrow_id: str
    order_id: str
    destination: str
    amount: int
    currency: str
    source_transaction: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.escrow_id

    async def send(self, provider: PaymentProvider) -> ProviderTransfer:
        return await provider.create_transfer_to_seller(
            self.escrow_id,
            self.order_id,
            self.destination,
            self.amount,
            self.currency,
            self.source_transaction,
            self.metadata,
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderTransfer | None:
        return await provider.find_transfer_by_metadata("escrow_id", self.escrow_id, created_from)


@dataclass(frozen=True)
class ReverseTransfer(PaymentRequest[ProviderTransferReversal]):
    kind = OperationKind.REVERSAL
    result_type = ProviderTransferReversal
    reversal_id: str
    transfer_id: str
    amount: int | None = None

    @property
    def operation_id(self) -> str:
        return self.reversal_id

    async def send(self, provider: PaymentProvider) -> ProviderTransferReversal:
        return await provider.reverse_transfer(self.reversal_id, self.transfer_id, self.amount)

    async def find(
        self, provider: PaymentProvider, created_from: datetime
    ) -> ProviderTransferReversal | None:
        return await provider.find_reversal_by_metadata(self.transfer_id, "reversal_id", self.reversal_id)


@dataclass(frozen=True)
class CreateRefund(PaymentRequest[ProviderRefund]):
    kind = OperationKind.REFUND
    result_type = ProviderRefund
    refund_id: str
    payment_intent_id: str
    amount: int | None = None
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.refund_id

    async def send(self, provider: PaymentProvider) -> ProviderRefund:
        return await provider.create_refund(
            self.refund_id, self.payment_intent_id, self.amount, self.reason, self.metadata
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderRefund | None:
        return await provider.find_refund_by_metadata("refund_id", self.refund_id, created_from)


@dataclass(frozen=True)
class CreatePayout(PaymentRequest[ProviderPayout]):
    kind = OperationKind.PAYOUT
    result_type = ProviderPayout
    payout_id: str
    account: str
    amount: int
    currency: str

    @property
    def operation_id(self) -> str:
        return self.payout_id

    async def send(self, provider: PaymentProvider) -> ProviderPayout:
        return await provider.create_payout(self.payout_id, self.account, self.amount, self.currency)

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderPayout | None:
        return await provider.find_payout_by_metadata(self.account, "payout_id", self.payout_id, created_from)


@dataclass(frozen=True)
class SubmitDisputeEvidence(PaymentRequest[ProviderDispute]):
    kind = OperationKind.DISPUTE_EVIDENCE
    result_type = ProviderDispute
    evidence_id: str
    dispute_id: str
    evidence: DisputeEvidence
    submit: bool = True

    @property
    def operation_id(self) -> str:
        return self.evidence_id

    @classmethod
    def from_params(cls, params: Document) -> Self:
        return cls(**{**params, "evidence": DisputeEvidence(**params["evidence"])})

    async def send(self, provider: PaymentProvider) -> ProviderDispute:
        return await provider.submit_dispute_evidence(
            self.evidence_id, self.dispute_id, self.evidence, self.submit
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderDispute | None:
        dispute = await provider.retrieve_dispute(self.dispute_id)
        return dispute if dispute.status in ANSWERED_DISPUTE_STATUSES else None


@dataclass(frozen=True)
class CloseDispute(PaymentRequest[ProviderDispute]):
    kind = OperationKind.DISPUTE_CLOSE
    result_type = ProviderDispute
    dispute_id: str

    @property
    def operation_id(self) -> str:
        return self.dispute_id

    async def send(self, provider: PaymentProvider) -> ProviderDispute:
        return await provider.close_dispute(self.dispute_id)

    async def find(self, provider: PaymentProvider, created_from: datetime) -> ProviderDispute | None:
        dispute = await provider.retrieve_dispute(self.dispute_id)
        return dispute if dispute.status == "lost" else None


REQUEST_TYPES: dict[OperationKind, type[PaymentRequest[Any]]] = {
    request_type.kind: request_type
    for request_type in (
        CreateConnectedAccount,
        CreateCheckoutIntent,
        CreateTopupIntent,
        CancelPaymentIntent,
        CreateTransfer,
        ReverseTransfer,
        CreateRefund,
        CreatePayout,
        SubmitDisputeEvidence,
        CloseDispute,
    )
}


def request_from_record(kind: str, params: Document) -> PaymentRequest[Any]:
    return REQUEST_TYPES[OperationKind(kind)].from_params(params)
