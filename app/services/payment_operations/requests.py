"""The requests a payment operation can make, stored whole so they can be replayed exactly.

Each kind is a frozen dataclass whose fields are the arguments of one provider method. It knows
how to send itself, how to find what it created by our metadata once the provider has
forgotten its idempotency key, and how to rebuild its result from the operation's record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from pydantic import TypeAdapter

from app.adapters.payment_provider import (
    Account,
    Dispute,
    DisputeEvidence,
    PaymentIntent,
    PaymentProvider,
    Payout,
    Refund,
    Transfer,
    TransferReversal,
)
from app.domain.payment_operations import ANSWERED_DISPUTE_STATUSES, OperationKind

R = TypeVar("R")
Params = dict[str, Any]

# Never written to MongoDB: a payment intent's client secret is fetched again when needed.
UNRECORDED_FIELDS = frozenset({"client_secret"})


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
        """The provider's idempotency key for this request: built here, and only here."""
        return f"{self.kind}:{self.operation_id}"

    def params(self) -> Params:
        return asdict(cast(Any, self))

    @classmethod
    def from_params(cls, params: Params) -> Self:
        return cls(**params)

    def refs(self) -> dict[str, str]:
        return {name: value for name, value in self.params().items() if name.endswith("_id") and value}

    async def recorded(self, provider: PaymentProvider, record: Params) -> R:
        """The result of an operation that already succeeded, rebuilt from its record."""
        return cast(R, TypeAdapter(self.result_type).validate_python(record))


def result_record(result: object) -> Params:
    return {name: value for name, value in asdict(cast(Any, result)).items() if name not in UNRECORDED_FIELDS}


class _PaymentIntentRequest(PaymentRequest[PaymentIntent]):
    result_type = PaymentIntent

    async def recorded(self, provider: PaymentProvider, record: Params) -> PaymentIntent:
        return await provider.retrieve_payment_intent(record["id"])


@dataclass(frozen=True)
class CreateConnectedAccount(PaymentRequest[Account]):
    kind = OperationKind.ACCOUNT
    result_type = Account
    seller_id: str
    email: str
    country: str
    card_payments: bool = False

    @property
    def operation_id(self) -> str:
        return self.seller_id

    async def send(self, provider: PaymentProvider) -> Account:
        return await provider.create_connected_account(
            self.seller_id,
            self.email,
            self.country,
            card_payments=self.card_payments,
            idempotency_key=self.idempotency_key,
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> Account | None:
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

    async def send(self, provider: PaymentProvider) -> PaymentIntent:
        return await provider.create_payment_intent_on_platform(
            self.order_id, self.amount, self.currency, self.metadata, idempotency_key=self.idempotency_key
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> PaymentIntent | None:
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

    async def send(self, provider: PaymentProvider) -> PaymentIntent:
        return await provider.create_topup_intent(
            self.topup_id, self.user_id, self.amount, self.currency, idempotency_key=self.idempotency_key
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> PaymentIntent | None:
        return await provider.find_payment_intent_by_metadata("topup_id", self.topup_id)


@dataclass(frozen=True)
class CancelPaymentIntent(_PaymentIntentRequest):
    kind = OperationKind.CANCEL_PAYMENT_INTENT
    payment_intent_id: str

    @property
    def operation_id(self) -> str:
        return self.payment_intent_id

    async def send(self, provider: PaymentProvider) -> PaymentIntent:
        return await provider.cancel_payment_intent(
            self.payment_intent_id, idempotency_key=self.idempotency_key
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> PaymentIntent | None:
        intent = await provider.retrieve_payment_intent(self.payment_intent_id)
        return intent if intent.status == "canceled" else None


@dataclass(frozen=True)
class CreateTransfer(PaymentRequest[Transfer]):
    kind = OperationKind.TRANSFER
    result_type = Transfer
    escrow_id: str
    order_id: str
    destination: str
    amount: int
    currency: str
    source_transaction: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # One of several transfers for an escrow, or a new attempt after a refusal (Stripe replays a
    # refusal under its key): its own id, from the escrow's, and the key is made from it.
    attempt_id: str | None = None

    @property
    def operation_id(self) -> str:
        return self.attempt_id or self.escrow_id

    async def send(self, provider: PaymentProvider) -> Transfer:
        metadata = {**self.metadata, "attempt_id": self.attempt_id} if self.attempt_id else self.metadata
        return await provider.create_transfer_to_seller(
            self.escrow_id,
            self.order_id,
            self.destination,
            self.amount,
            self.currency,
            self.source_transaction,
            metadata,
            idempotency_key=self.idempotency_key,
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> Transfer | None:
        if self.attempt_id:
            return await provider.find_transfer_by_metadata("attempt_id", self.attempt_id, created_from)
        return await provider.find_transfer_by_metadata("escrow_id", self.escrow_id, created_from)


@dataclass(frozen=True)
class ReverseTransfer(PaymentRequest[TransferReversal]):
    kind = OperationKind.REVERSAL
    result_type = TransferReversal
    reversal_id: str
    transfer_id: str
    amount: int | None = None

    @property
    def operation_id(self) -> str:
        return self.reversal_id

    async def send(self, provider: PaymentProvider) -> TransferReversal:
        return await provider.reverse_transfer(
            self.reversal_id, self.transfer_id, self.amount, idempotency_key=self.idempotency_key
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> TransferReversal | None:
        return await provider.find_reversal_by_metadata(self.transfer_id, "reversal_id", self.reversal_id)


@dataclass(frozen=True)
class CreateRefund(PaymentRequest[Refund]):
    kind = OperationKind.REFUND
    result_type = Refund
    refund_id: str
    payment_intent_id: str
    amount: int | None = None
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.refund_id

    async def send(self, provider: PaymentProvider) -> Refund:
        return await provider.create_refund(
            self.refund_id,
            self.payment_intent_id,
            self.amount,
            self.reason,
            self.metadata,
            idempotency_key=self.idempotency_key,
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> Refund | None:
        return await provider.find_refund_by_metadata("refund_id", self.refund_id, created_from)


@dataclass(frozen=True)
class CreatePayout(PaymentRequest[Payout]):
    kind = OperationKind.PAYOUT
    result_type = Payout
    payout_id: str
    account: str
    amount: int
    currency: str

    @property
    def operation_id(self) -> str:
        return self.payout_id

    async def send(self, provider: PaymentProvider) -> Payout:
        return await provider.create_payout(
            self.payout_id, self.account, self.amount, self.currency, idempotency_key=self.idempotency_key
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> Payout | None:
        return await provider.find_payout_by_metadata(self.account, "payout_id", self.payout_id, created_from)


@dataclass(frozen=True)
class SubmitDisputeEvidence(PaymentRequest[Dispute]):
    kind = OperationKind.DISPUTE_EVIDENCE
    result_type = Dispute
    evidence_id: str
    dispute_id: str
    evidence: DisputeEvidence
    submit: bool = True

    @property
    def operation_id(self) -> str:
        return self.evidence_id

    @classmethod
    def from_params(cls, params: Params) -> Self:
        return cls(**{**params, "evidence": DisputeEvidence(**params["evidence"])})

    async def send(self, provider: PaymentProvider) -> Dispute:
        return await provider.submit_dispute_evidence(
            self.dispute_id, self.evidence, self.submit, idempotency_key=self.idempotency_key
        )

    async def find(self, provider: PaymentProvider, created_from: datetime) -> Dispute | None:
        dispute = await provider.retrieve_dispute(self.dispute_id)
        return dispute if dispute.status in ANSWERED_DISPUTE_STATUSES else None


@dataclass(frozen=True)
class CloseDispute(PaymentRequest[Dispute]):
    kind = OperationKind.DISPUTE_CLOSE
    result_type = Dispute
    dispute_id: str

    @property
    def operation_id(self) -> str:
        return self.dispute_id

    async def send(self, provider: PaymentProvider) -> Dispute:
        return await provider.close_dispute(self.dispute_id, idempotency_key=self.idempotency_key)

    async def find(self, provider: PaymentProvider, created_from: datetime) -> Dispute | None:
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


def request_from_record(kind: str, params: Params) -> PaymentRequest[Any]:
    return REQUEST_TYPES[OperationKind(kind)].from_params(params)
