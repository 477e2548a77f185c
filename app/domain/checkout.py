"""Checkout's rules: pricing an order from the catalog, one escrow per seller, how each escrow is
funded, what is transferred to the seller and how, and the state machines. Pure.

Funding. With `use_wallet`, the wallet pays first and the card the rest. One order's money is
laid out as a line of cents, legacy money first, then platform wallet money, then the card; the
escrows take consecutive stretches of it in seller-id order. So each escrow's split (legacy,
wallet, card) is exact to the cent, deterministic, and sums to its gross; refunds follow it back.
The card pays nothing or at least Stripe's minimum charge (`app.domain.charge_minimum`): the
wallet holds back what would leave the card less, and an order no split can pay is refused.

Transfers. A seller's net (gross - fee, `app.domain.fees`) leaves the platform in at most two
Stripe transfers, both to the seller's connected account with the order id as `transfer_group`:

- the card part, `min(net, card)`, with `source_transaction` = the order's charge. Stripe then
  takes it from that charge whatever the platform's available balance, and it becomes available
  to the seller when the charge's funds do. Stripe refuses a transfer larger than what is left
  untransferred of its source charge; the card parts of one order add up to at most the charge
  (each is at most its escrow's card funding), so they always fit.
- the balance part, the rest, without `source_transaction`: wallet and legacy money is not tied
  to a charge of this order (a top-up's charge, or money still in the legacy reserve), so it comes
  from the platform's available balance, and waits while that is short.

The card part is the larger one the fee allows, so as little as possible waits on the balance.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import groupby
from typing import Any, ClassVar

from app.domain.catalog import Product
from app.domain.fees import FeeSchedule, split_fee
from app.domain.money import MAX_AMOUNT, Money
from app.domain.wallet import fill_in_order
from app.errors import InvalidRequest, NotFound, ServiceError

CHECKOUT_PURPOSE = "checkout"


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    CANCELED = "canceled"


class EscrowStatus(StrEnum):
    AWAITING_FUNDS = "awaiting_funds"
    HELD = "held"
    # Frozen by a dispute or a chargeback: nothing releases it until that is resolved.
    DISPUTED = "disputed"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    # Everything it held went back to the buyer (or to the card network, for a chargeback).
    REFUNDED = "refunded"
    CANCELED = "canceled"


class TransferStatus(StrEnum):
    # To be sent now (or being sent: an answer lost on the way is sent again with the same key).
    PENDING = "pending"
    # The seller cannot receive transfers yet; the money waits in `seller:{id}:pending_transfer`.
    AWAITING_DESTINATION = "awaiting_destination"
    # Stripe refused: the platform's available balance is short. Tried again later.
    AWAITING_FUNDS = "awaiting_funds"
    TRANSFERRED = "transferred"
    # Stripe refused for good; an operator looks at it (`GET /admin/transfers?status=failed`).
    FAILED = "failed"


class TransferPart(StrEnum):
    CARD = "card"
    BALANCE = "balance"


class ReleaseReason(StrEnum):
    DELIVERY_CONFIRMED = "delivery_confirmed"
    AUTO_RELEASE = "auto_release"
    DISPUTE_RESOLVED = "dispute_resolved"


# A transfer waiting for something leaves that state only for a new attempt.
WAITING = (TransferStatus.AWAITING_DESTINATION, TransferStatus.AWAITING_FUNDS)


@dataclass(frozen=True, slots=True)
class CheckoutLimits:
    max_lines: int
    max_quantity: int


@dataclass(frozen=True, slots=True)
class LineRequest:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A line as bought: a snapshot of the product at checkout, whatever the catalog says later."""

    product_id: str
    title: str
    seller_id: str
    unit_amount: int
    quantity: int
    line_total: int


@dataclass(frozen=True, slots=True)
class Funding:
    """Where an amount came from: migrated legacy money, platform wallet money, the card."""

    legacy: int = 0
    wallet: int = 0
    card: int = 0

    @property
    def total(self) -> int:
        return self.legacy + self.wallet + self.card

    def __add__(self, other: Funding) -> Funding:
        return Funding(self.legacy + other.legacy, self.wallet + other.wallet, self.card + other.card)

    def __sub__(self, other: Funding) -> Funding:
        return Funding(self.legacy - other.legacy, self.wallet - other.wallet, self.card - other.card)

    def covers(self, other: Funding) -> bool:
        """Whether every source of `other` is at most this one's."""
        return other.legacy <= self.legacy and other.wallet <= self.wallet and other.card <= self.card


@dataclass(frozen=True, slots=True)
class EscrowPlan:
    seller_id: str
    gross: int
    fee: int
    net: int


# Errors: each names the line (its index in `items`) it is about.


class UnknownProduct(NotFound):
    code = "unknown_product"
    title = "A line names a product the catalog does not have"
    members: ClassVar[Mapping[str, Any]] = {"line": int}


class ProductUnavailable(InvalidRequest):
    code = "product_unavailable"
    title = "A line names a product that is not for sale"
    members: ClassVar[Mapping[str, Any]] = {"line": int}


class MixedCurrencies(InvalidRequest):
    code = "mixed_currencies"
    title = "A line is priced in another currency than the order"
    members: ClassVar[Mapping[str, Any]] = {"line": int}


class QuantityOutOfRange(InvalidRequest):
    code = "quantity_out_of_range"
    title = "A line's quantity is outside the limits"
    members: ClassVar[Mapping[str, Any]] = {"line": int, "minimum": int, "maximum": int}


class DuplicateProduct(InvalidRequest):
    code = "duplicate_product"
    title = "A product appears on two lines"
    members: ClassVar[Mapping[str, Any]] = {"line": int}


class TooManyLines(InvalidRequest):
    code = "too_many_lines"
    title = "The order has too many lines"
    members: ClassVar[Mapping[str, Any]] = {"limit": int}


class OrderTotalTooLarge(InvalidRequest):
    code = "order_total_too_large"
    title = "The order's total is more than one payment can be"
    members: ClassVar[Mapping[str, Any]] = {"limit": int}


class UnsupportedCheckoutCurrency(InvalidRequest):
    code = "unsupported_currency"
    title = "Orders are not taken in this currency"


class CardAmountBelowMinimum(InvalidRequest):
    code = "card_amount_below_minimum"
    title = "The card would pay less than the smallest amount a card can be charged"
    members: ClassVar[Mapping[str, Any]] = {"minimum": int, "currency": str}


class OrderAlreadyOpened(ServiceError):
    code = "order_already_opened"
    status = 409
    title = "This order was already opened with other lines"


class EscrowDisputed(ServiceError):
    code = "escrow_disputed"
    status = 409
    title = "A dispute or chargeback is open on this seller's part of the order; it cannot be released"


class OrderNotPaid(ServiceError):
    code = "order_not_paid"
    status = 409
    title = "The order is not paid, so there is no delivery to confirm"


# Identifiers and keys


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def order_id_for(buyer_id: str, idempotency_key: str) -> str:
    """The same request (buyer and Idempotency-Key) always names the same order, even after a crash."""
    return f"ord_{_digest(buyer_id, idempotency_key)}"


def escrow_id_for(order_id: str, seller_id: str) -> str:
    return f"esc_{_digest(order_id, seller_id)}"


def transfer_id_for(escrow_id: str, part: TransferPart) -> str:
    return f"{escrow_id}_{part}"


def list_key(created_at: datetime, object_id: str) -> str:
    """Creation time then id as one string: a list's order and its cursor in one field."""
    return f"{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{object_id}"


def wallet_entry_key(order_id: str) -> str:
    return f"checkout:{order_id}"


def card_entry_key(payment_intent_id: str) -> str:
    return f"checkout_card:{payment_intent_id}"


def cancel_entry_key(order_id: str) -> str:
    return f"checkout_cancel:{order_id}"


def release_entry_key(escrow_id: str) -> str:
    return f"escrow_release:{escrow_id}"


def transfer_entry_key(transfer_id: str) -> str:
    return f"transfer:{transfer_id}"


def lines_fingerprint(currency: str, use_wallet: bool, lines: Sequence[LineRequest]) -> str:
    """What makes a second opening of an order the same order."""
    body = {
        "currency": currency,
        "use_wallet": use_wallet,
        "lines": [[line.product_id, line.quantity] for line in lines],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


# Pricing and splitting


def check_request(
    lines: Sequence[LineRequest], currency: str, platform_currency: str, limits: CheckoutLimits
) -> None:
    """What can be checked before the catalog is read."""
    if currency != platform_currency:
        raise UnsupportedCheckoutCurrency(f"orders are taken in {platform_currency}, not {currency}")
    if len(lines) > limits.max_lines:
        raise TooManyLines(f"an order has at most {limits.max_lines} lines", limit=limits.max_lines)
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not 1 <= line.quantity <= limits.max_quantity:
            raise QuantityOutOfRange(
                f"line {index}: a quantity is between 1 and {limits.max_quantity}",
                line=index,
                minimum=1,
                maximum=limits.max_quantity,
            )
        if line.product_id in seen:
            raise DuplicateProduct(f"line {index}: {line.product_id} is on an earlier line", line=index)
        seen.add(line.product_id)


def price_lines(
    lines: Sequence[LineRequest], products: Mapping[str, Product], currency: str
) -> list[OrderLine]:
    """Each line priced from the catalog; the first line that cannot be bought raises, naming it."""
    priced = []
    for index, line in enumerate(lines):
        product = products.get(line.product_id)
        if product is None:
            raise UnknownProduct(f"line {index}: no product {line.product_id}", line=index)
        if not product.sellable or product.unit_amount is None:
            raise ProductUnavailable(f"line {index}: {line.product_id} is not for sale", line=index)
        if product.currency != currency:
            raise MixedCurrencies(
                f"line {index}: {line.product_id} is priced in {product.currency}, the order in {currency}",
                line=index,
            )
        priced.append(
            OrderLine(
                product_id=product.id,
                title=product.title,
                seller_id=product.seller_id,
                unit_amount=product.unit_amount,
                quantity=line.quantity,
                line_total=product.unit_amount * line.quantity,
            )
        )
    total = sum(line.line_total for line in priced)
    if total > MAX_AMOUNT:
        raise OrderTotalTooLarge(f"an order's total is at most {MAX_AMOUNT}", limit=MAX_AMOUNT)
    return priced


def escrow_plans(lines: Sequence[OrderLine], fees: FeeSchedule, currency: str) -> list[EscrowPlan]:
    """One escrow per seller, in seller-id order, with its gross, the platform fee and the net."""
    plans = []
    by_seller = sorted(lines, key=lambda line: line.seller_id)
    for seller_id, seller_lines in groupby(by_seller, key=lambda line: line.seller_id):
        gross = sum(line.line_total for line in seller_lines)
        split = split_fee(Money(gross, currency), fees)
        plans.append(EscrowPlan(seller_id, gross, split.fee.amount, split.net.amount))
    return plans


def wallet_share(total: int, held: int, card_minimum: int, currency: str) -> int:
    """What the wallet pays of an order's `total` out of the `held` it has: all it can, unless that
    leaves the card a part below `card_minimum`, which Stripe would refuse; then it holds back so
    the card pays exactly the minimum. No split exists when the total itself is below the minimum
    and the wallet cannot pay all of it: refused, before anything moves."""
    wallet = min(held, total)
    card = total - wallet
    if card == 0 or card >= card_minimum:
        return wallet
    if total < card_minimum:
        raise CardAmountBelowMinimum(
            f"the card would pay {card}, and a card payment is at least {card_minimum} "
            f"{currency}; add to the order or top up the wallet",
            minimum=card_minimum,
            currency=currency,
        )
    return total - card_minimum


def fund_escrows(
    grosses: Sequence[int], legacy: int, platform: int, card_minimum: int, currency: str
) -> list[Funding]:
    """Each escrow's funding when the wallet holds `legacy` and `platform` money (both 0 without
    `use_wallet`): the wallet's share (`wallet_share`), legacy money first, laid over the escrows
    in order, and the card the rest."""
    wallet = wallet_share(sum(grosses), legacy + platform, card_minimum, currency)
    from_legacy = min(legacy, wallet)
    splits = fill_in_order(from_legacy, wallet - from_legacy, grosses, currency)
    return [
        Funding(legacy=split.legacy, wallet=split.platform, card=gross - split.total)
        for gross, split in zip(grosses, splits, strict=True)
    ]


def terms_after_refund(gross: int, refunded: int, fees: FeeSchedule, currency: str) -> tuple[int, int]:
    """The platform fee and the seller's net on what an escrow keeps once `refunded` of its `gross`
    went back: the fee is the schedule's on what is kept, so a refund takes the platform's
    commission on the refunded part back with it."""
    kept = split_fee(Money(gross - refunded, currency), fees)
    return kept.fee.amount, kept.net.amount


def transfer_parts(net: int, funding: Funding) -> list[tuple[TransferPart, int]]:
    """The transfers that pay a seller `net`: the card part first, from the order's charge, then
    the rest from the platform's balance (see the module). Parts of zero are left out."""
    card = min(net, funding.card)
    parts = [(TransferPart.CARD, card), (TransferPart.BALANCE, net - card)]
    return [(part, amount) for part, amount in parts if amount > 0]
