"""Checkout: orders priced from the catalog, paid into platform-held escrow (one per seller),
released on delivery or after a delay, and paid out to sellers by Stripe transfers."""

from app.domain.checkout import (
    CardAmountBelowMinimum,
    DuplicateProduct,
    EscrowDisputed,
    MixedCurrencies,
    OrderAlreadyOpened,
    OrderNotPaid,
    OrderTotalTooLarge,
    ProductUnavailable,
    QuantityOutOfRange,
    TooManyLines,
    UnknownProduct,
    UnsupportedCheckoutCurrency,
)
from app.services.checkout.checkout import Checkout, CheckoutRequest, OrderView
from app.services.checkout.escrows import EscrowChanged, Escrows
from app.services.checkout.jobs import (
    AUTO_RELEASE_JOB,
    ORDER_EXPIRY_JOB,
    TRANSFER_RETRY_JOB,
    run_escrow_auto_release,
    run_order_expiry,
    run_transfer_retries,
)
from app.services.checkout.release import EscrowReleases, SellerDebts
from app.services.checkout.repository import INDEXES as ORDER_INDEXES
from app.services.checkout.repository import Escrow, Order, OrderPage, funding_document
from app.services.checkout.transfer_repository import INDEXES as TRANSFER_INDEXES
from app.services.checkout.transfer_repository import SellerTransfer, TransferPage
from app.services.checkout.transfers import SellerTransfers, TransferDestinations
from app.services.checkout.webhook_handlers import CheckoutWebhookHandlers

INDEXES = {**ORDER_INDEXES, **TRANSFER_INDEXES}

# What opening an order can refuse, for the route to declare.
CHECKOUT_ERRORS = (
    UnsupportedCheckoutCurrency,
    TooManyLines,
    QuantityOutOfRange,
    DuplicateProduct,
    UnknownProduct,
    ProductUnavailable,
    MixedCurrencies,
    OrderTotalTooLarge,
    CardAmountBelowMinimum,
    OrderAlreadyOpened,
)

__all__ = [
    "AUTO_RELEASE_JOB",
    "CHECKOUT_ERRORS",
    "INDEXES",
    "ORDER_EXPIRY_JOB",
    "TRANSFER_RETRY_JOB",
    "Checkout",
    "CheckoutRequest",
    "CheckoutWebhookHandlers",
    "Escrow",
    "EscrowChanged",
    "EscrowDisputed",
    "EscrowReleases",
    "Escrows",
    "Order",
    "OrderNotPaid",
    "OrderPage",
    "OrderView",
    "SellerDebts",
    "SellerTransfer",
    "SellerTransfers",
    "TransferDestinations",
    "TransferPage",
    "funding_document",
    "run_escrow_auto_release",
    "run_order_expiry",
    "run_transfer_retries",
]
