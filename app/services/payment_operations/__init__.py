"""Payment operations: every provider call that creates or changes something, recorded before
and after, re-driven by the janitor when its outcome is unknown."""

from app.services.payment_operations.janitor import run_operations_janitor
from app.services.payment_operations.operations import (
    JANITOR_JOB,
    PAYMENT_OPERATION_ERRORS,
    OperationListener,
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
)
from app.services.payment_operations.repository import INDEXES, PaymentOperation
from app.services.payment_operations.requests import (
    REQUEST_TYPES,
    CancelPaymentIntent,
    CloseDispute,
    CreateCheckoutIntent,
    CreateConnectedAccount,
    CreatePayout,
    CreateRefund,
    CreateTopupIntent,
    CreateTransfer,
    PaymentRequest,
    ReverseTransfer,
    SubmitDisputeEvidence,
    request_from_record,
)

__all__ = [
    "INDEXES",
    "JANITOR_JOB",
    "PAYMENT_OPERATION_ERRORS",
    "REQUEST_TYPES",
    "CancelPaymentIntent",
    "CloseDispute",
    "CreateCheckoutIntent",
    "CreateConnectedAccount",
    "CreatePayout",
    "CreateRefund",
    "CreateTopupIntent",
    "CreateTransfer",
    "OperationListener",
    "PaymentOperation",
    "PaymentOperationConflict",
    "PaymentOperationNeedsReview",
    "PaymentOperations",
    "PaymentRequest",
    "ReverseTransfer",
    "SubmitDisputeEvidence",
    "request_from_record",
    "run_operations_janitor",
]
