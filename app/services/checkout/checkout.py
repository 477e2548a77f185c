"""Checkout: an order priced from the catalog, paid into platform-held escrow, one per seller.

Opening an order is one transaction: the order (a snapshot of each line), its escrows, and with
`use_wallet` the wallet's part, spent legacy money first into the escrows
(`WalletFunds.spend_across_in`, entry `checkout:{order_id}`). What the wallet does not pay is
charged by card through one PaymentIntent on the platform account (a payment operation keyed by
the order id), never on a seller's account. The order id comes from the buyer and the request's
Idempotency-Key, so a request retried after a crash finds its order and its PaymentIntent again;
an order once opened refuses other lines (`order_already_opened`).

A wholly wallet-paid order is `paid` at once, its escrows `held`. Otherwise `payment_intent.succeeded`
pays it: the card's money goes into the escrows (entry `checkout_card:{payment_intent}`) and they
are held. Stripe's fee on the charge is booked by `app.services.stripe_fees`, as for any platform
charge. A failed or canceled payment, or none within `CHECKOUT_EXPIRE_AFTER_MINUTES`, cancels the
order and gives the wallet parts back to their sources (`checkout_cancel:{order_id}`); its
PaymentIntent is canceled first, so money can never arrive for a canceled order.

Every change of an order's or an escrow's status is audited in its transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.payment_provider import PaymentIntent, PaymentProvider
from app.adapters.stripe_errors import PaymentProviderError
from app.config import Settings
from app.db import Database, Document, NamespacedWrite
from app.domain.audit import Actor, AuditObject
from app.domain.charge_minimum import minimum_charge
from app.domain.checkout import (
    CheckoutLimits,
    EscrowPlan,
    EscrowStatus,
    Funding,
    LineRequest,
    OrderAlreadyOpened,
    OrderLine,
    OrderStatus,
    cancel_entry_key,
    card_entry_key,
    check_request,
    escrow_id_for,
    escrow_plans,
    fund_escrows,
    lines_fingerprint,
    order_id_for,
    price_lines,
    wallet_entry_key,
)
from app.domain.fees import FeeSchedule
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.wallet import FundingSplit
from app.errors import NotFound, ServiceError
from app.services.audit import AuditLog
from app.services.catalog import Catalog
from app.services.checkout import metrics
from app.services.checkout.repository import (
    Escrow,
    Order,
    OrderPage,
    OrderRepository,
    as_escrow,
    as_order,
    escrow_document,
    order_document,
)
from app.services.checkout.transfers import Clock, utc_now
from app.services.ledger import Ledger
from app.services.payment_operations import (
    CancelPaymentIntent,
    CreateCheckoutIntent,
    PaymentOperationConflict,
    PaymentOperationNeedsReview,
    PaymentOperations,
)
from app.services.wallet import WalletEntry, WalletFunds

log = structlog.get_logger(__name__)

STATUS_CHANGED = "order.status_changed"
ESCROW_STATUS_CHANGED = "escrow.status_changed"


class PaymentMismatch(ServiceError):
    """A PaymentIntent of ours paid another amount than its order's card part: never expected
    (the amount is ours), so the event fails loudly and lands where an operator sees it."""

    code = "payment_mismatch"
    status = 500
    title = "A payment does not match its order"


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    lines: tuple[LineRequest, ...]
    currency: str
    use_wallet: bool


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as one viewer may see it: the buyer and staff see it whole; a seller of the order
    sees only their lines and escrow, and nothing of how the buyer paid."""

    order: Order
    escrows: tuple[Escrow, ...]
    # Known only in the answer to the request that opened the order; never stored.
    client_secret: str | None = None
    seller_id: str | None = field(default=None)

    @property
    def order_id(self) -> str:
        return self.order.id

    @property
    def buyer_id(self) -> str:
        return self.order.buyer_id

    @property
    def status(self) -> OrderStatus:
        return self.order.status

    @property
    def currency(self) -> str:
        return self.order.currency

    @property
    def total(self) -> int:
        return sum(line.line_total for line in self.lines)

    @property
    def amount_due(self) -> int | None:
        return None if self.seller_id else self.order.amount_due

    @property
    def payment_intent_id(self) -> str | None:
        return None if self.seller_id else self.order.payment_intent_id

    @property
    def funding(self) -> Funding | None:
        return None if self.seller_id else self.order.funding

    @property
    def lines(self) -> tuple[OrderLine, ...]:
        lines = self.order.lines
        return (
            lines
            if self.seller_id is None
            else tuple(line for line in lines if line.seller_id == self.seller_id)
        )

    @property
    def created_at(self) -> datetime:
        return self.order.created_at

    @property
    def paid_at(self) -> datetime | None:
        return self.order.paid_at

    @property
    def canceled_at(self) -> datetime | None:
        return self.order.canceled_at


class Checkout:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        catalog: Catalog,
        wallet: WalletFunds,
        operations: PaymentOperations,
        provider: PaymentProvider,
        audit: AuditLog,
        settings: Settings,
        clock: Clock = utc_now,
    ) -> None:
        self._db = database
        self._ledger = ledger
        self._catalog = catalog
        self._wallet = wallet
        self._operations = operations
        self._provider = provider
        self._audit = audit
        self._clock = clock
        self._orders = OrderRepository(database)
        self._currency = settings.platform_currency
        self._card_minimum = minimum_charge(settings.platform_currency)
        self._fees = FeeSchedule(settings.platform_fee_bps, settings.platform_fee_fixed)
        self._limits = CheckoutLimits(settings.checkout_max_lines, settings.checkout_max_quantity)

    # Opening an order

    async def open(
        self, buyer_id: str, request: CheckoutRequest, idempotency_key: str, actor: Actor
    ) -> OrderView:
        """Open the order (or find the one this request opened before) and, for its card part,
        its PaymentIntent: the answer alone carries the client secret, for Stripe Elements."""
        check_request(request.lines, request.currency, self._currency, self._limits)
        order_id = order_id_for(buyer_id, idempotency_key)
        fingerprint = lines_fingerprint(request.currency, request.use_wallet, request.lines)
        products = await self._catalog.products([line.product_id for line in request.lines])
        lines = price_lines(request.lines, products, request.currency)
        plans = escrow_plans(lines, self._fees, request.currency)
        if request.use_wallet:
            await self._wallet.migrate_before_spending(buyer_id, actor)
        try:
            order, escrows = await self._db.transaction(
                lambda session: self._open_in(
                    session, order_id, buyer_id, request, lines, plans, fingerprint, actor
                )
            )
            metrics.CHECKOUTS.labels(str(order.status)).inc()
            if order.status is OrderStatus.PAID:
                metrics.ESCROW_HELD.labels(order.currency).inc(order.total)
        except DuplicateKeyError:
            order, escrows = await self._opened_before(order_id, buyer_id, fingerprint)
        view = OrderView(order, tuple(escrows))
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return view
        intent = await self._operations.run(self._intent_request(order), refs={"order_id": order.id})
        if order.payment_intent_id is None:
            await self._orders.attach_payment_intent(order.id, intent.id)
        log.info("order_opened", order_id=order.id, payment_intent=intent.id, amount_due=order.funding.card)
        return replace(
            view, order=replace(order, payment_intent_id=intent.id), client_secret=intent.client_secret
        )

    async def _open_in(
        self,
        session: AsyncClientSession,
        order_id: str,
        buyer_id: str,
        request: CheckoutRequest,
        lines: Sequence[OrderLine],
        plans: Sequence[EscrowPlan],
        fingerprint: str,
        actor: Actor,
    ) -> tuple[Order, list[Escrow]]:
        """The order, its escrows and the wallet's part, in the caller's transaction; an order
        that exists already raises DuplicateKeyError (its ledger entry or its insert collides)."""
        # The wallet's read opens the transaction; without it the order's insert does (a
        # `bulkWrite` cannot be a transaction's first command).
        held = (
            await self._wallet.held_in(session, buyer_id, request.currency)
            if request.use_wallet
            else FundingSplit(0, 0, request.currency)
        )
        fundings = fund_escrows(
            [plan.gross for plan in plans], held.legacy, held.platform, self._card_minimum, request.currency
        )
        order_total = sum(fundings, Funding())
        now = self._clock()
        order = order_document(order_id, buyer_id, request.currency, lines, order_total, fingerprint, now)
        escrows = [
            escrow_document(escrow_id_for(order_id, plan.seller_id), order, plan, funding)
            for plan, funding in zip(plans, fundings, strict=True)
        ]
        if not request.use_wallet:
            await self._orders.insert_order(session, order)
        opening = self._orders.opening_writes(order if request.use_wallet else None, escrows)
        writes: list[NamespacedWrite] = [*opening, *self._opening_audits(session, actor, order, escrows)]
        shares = [
            (
                Accounts.escrow(order_id, plan.seller_id),
                FundingSplit(funding.legacy, funding.wallet, request.currency),
            )
            for plan, funding in zip(plans, fundings, strict=True)
        ]
        record = WalletEntry(wallet_entry_key(order_id), EntryKind.CHECKOUT, {"order": order_id})
        await self._wallet.spend_across_in(session, buyer_id, shares, record, along=writes)
        return as_order(order), [as_escrow(escrow) for escrow in escrows]

    def _opening_audits(
        self, session: AsyncClientSession, actor: Actor, order: Document, escrows: Sequence[Document]
    ) -> list[NamespacedWrite]:
        audits: list[NamespacedWrite] = [
            self._audit.prepare(
                session,
                actor,
                "order.opened",
                AuditObject("order", order["_id"]),
                before=None,
                after={"status": order["status"], "total": order["total"], "funding": order["funding"]},
            )
        ]
        for escrow in escrows:
            after = {key: escrow[key] for key in ("status", "seller_id", "gross", "fee", "net", "funding")}
            audits.append(
                self._audit.prepare(
                    session,
                    actor,
                    "escrow.opened",
                    AuditObject("escrow", escrow["_id"]),
                    before=None,
                    after=after,
                )
            )
        return audits

    async def _opened_before(
        self, order_id: str, buyer_id: str, fingerprint: str
    ) -> tuple[Order, list[Escrow]]:
        order = await self._orders.get(order_id)
        if order is None or order.buyer_id != buyer_id:
            raise LookupError(f"order {order_id} collided with nothing")
        if order.fingerprint != fingerprint:
            raise OrderAlreadyOpened(f"order {order_id} was opened with other lines", order_id=order_id)
        return order, await self._orders.escrows_of(order_id)

    def _intent_request(self, order: Order) -> CreateCheckoutIntent:
        return CreateCheckoutIntent(
            order_id=order.id,
            amount=order.funding.card,
            currency=order.currency,
            metadata={"buyer_id": order.buyer_id},
        )

    # Paying

    async def pay(self, intent: PaymentIntent, actor: Actor) -> bool:
        """The card paid its part: the card's money into the escrows, the order paid and its
        escrows held, once; whether this call did it."""
        order = await self._orders.get(intent.metadata.get("order_id", ""))
        if order is None:
            log.warning("order_unknown", payment_intent=intent.id, order_id=intent.metadata.get("order_id"))
            return False
        if (intent.amount_received, intent.currency) != (order.funding.card, order.currency):
            raise PaymentMismatch(
                f"payment {intent.id} received {intent.amount_received} {intent.currency}; "
                f"order {order.id} is due {order.funding.card} {order.currency}"
            )
        escrows = await self._orders.escrows_of(order.id)
        if not await self._db.transaction(
            lambda session: self._pay_in(session, order, escrows, intent, actor)
        ):
            log.info(
                "order_not_paid_again", order_id=order.id, payment_intent=intent.id, status=str(order.status)
            )
            return False
        metrics.CHECKOUTS.labels("paid_by_card").inc()
        metrics.ESCROW_HELD.labels(order.currency).inc(order.total)
        log.info("order_paid", order_id=order.id, payment_intent=intent.id, amount=intent.amount_received)
        return True

    async def _pay_in(
        self,
        session: AsyncClientSession,
        order: Order,
        escrows: Sequence[Escrow],
        intent: PaymentIntent,
        actor: Actor,
    ) -> bool:
        if not await self._orders.mark_paid(
            session, order.id, intent.id, intent.latest_charge, self._clock()
        ):
            return False
        audits = [
            self._audit.prepare(
                session,
                actor,
                STATUS_CHANGED,
                AuditObject("order", order.id),
                before={"status": str(OrderStatus.AWAITING_PAYMENT)},
                after={"status": str(OrderStatus.PAID), "payment_intent_id": intent.id},
            ),
            *self._escrow_audits(session, actor, escrows, EscrowStatus.AWAITING_FUNDS, EscrowStatus.HELD),
        ]
        moves = [
            Move(Accounts.CARD, escrow.ledger_account, escrow.funding.card, order.currency)
            for escrow in escrows
            if escrow.funding.card
        ]
        paid = entry(
            card_entry_key(intent.id), EntryKind.CHECKOUT, moves, order=order.id, payment_intent=intent.id
        )
        await self._ledger.post_in(session, paid, along=audits)
        return True

    def _escrow_audits(
        self,
        session: AsyncClientSession,
        actor: Actor,
        escrows: Sequence[Escrow],
        source: EscrowStatus,
        target: EscrowStatus,
    ) -> list[NamespacedWrite]:
        return [
            self._audit.prepare(
                session,
                actor,
                ESCROW_STATUS_CHANGED,
                AuditObject("escrow", escrow.id),
                before={"status": str(source)},
                after={"status": str(target)},
            )
            for escrow in escrows
            if escrow.status is source
        ]

    # Canceling an unpaid order

    async def cancel_unpaid(
        self, order: Order, reason: str, actor: Actor, *, intent_canceled: bool = False
    ) -> bool:
        """Cancel an order still awaiting payment and give its wallet parts back; whether this call
        did it. Its PaymentIntent is canceled first (unless `intent_canceled`: Stripe said so),
        so it can never be paid after; one that was paid meanwhile leaves the order to its payment.
        Provider errors other than Stripe's refusal to cancel raise (the caller tries again)."""
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return False
        if not intent_canceled and not await self._intent_canceled(order):
            log.info("order_paid_meanwhile", order_id=order.id)
            return False
        escrows = await self._orders.escrows_of(order.id)
        if not await self._db.transaction(
            lambda session: self._cancel_in(session, order, escrows, reason, actor)
        ):
            return False
        metrics.CHECKOUTS.labels(str(OrderStatus.CANCELED)).inc()
        log.info("order_canceled", order_id=order.id, reason=reason)
        return True

    async def _intent_canceled(self, order: Order) -> bool:
        """Make sure the order's PaymentIntent can never be paid; True once it is canceled. An
        order whose request died before recording its intent gets it through its own operation
        first (same key: the intent Stripe made, if any), so no intent of ours stays payable."""
        refs = {"order_id": order.id}
        intent_id = (
            order.payment_intent_id or (await self._operations.run(self._intent_request(order), refs)).id
        )
        try:
            canceled = await self._operations.run(CancelPaymentIntent(payment_intent_id=intent_id), refs)
        except PaymentProviderError as error:
            if error.outcome_unknown:
                raise
            canceled = await self._provider.retrieve_payment_intent(intent_id)
        return canceled.status == "canceled"

    async def _cancel_in(
        self, session: AsyncClientSession, order: Order, escrows: Sequence[Escrow], reason: str, actor: Actor
    ) -> bool:
        if not await self._orders.mark_canceled(session, order.id, reason, self._clock()):
            return False
        audits = [
            self._audit.prepare(
                session,
                actor,
                STATUS_CHANGED,
                AuditObject("order", order.id),
                before={"status": str(OrderStatus.AWAITING_PAYMENT)},
                after={"status": str(OrderStatus.CANCELED), "reason": reason},
            ),
            *self._escrow_audits(session, actor, escrows, EscrowStatus.AWAITING_FUNDS, EscrowStatus.CANCELED),
        ]
        shares = [
            (
                escrow.ledger_account,
                FundingSplit(escrow.funding.legacy, escrow.funding.wallet, order.currency),
            )
            for escrow in escrows
        ]
        record = WalletEntry(
            cancel_entry_key(order.id), EntryKind.REFUND, {"order": order.id, "reason": reason}
        )
        await self._wallet.refund_across_in(session, order.buyer_id, shares, record, along=audits)
        return True

    async def expire_unpaid(
        self, older_than: timedelta, actor: Actor, keep_going: Callable[[], Awaitable[bool]] | None = None
    ) -> Counter[str]:
        """Cancel every order awaiting payment for longer than `older_than`; count the outcomes.

        `keep_going` is asked before each order (a lease renewal): False stops the pass.
        """
        outcomes: Counter[str] = Counter()
        async for order in self._orders.unpaid_before(self._clock() - older_than):
            if keep_going is not None and not await keep_going():
                break
            try:
                canceled = await self.cancel_unpaid(order, "expired", actor)
            except (PaymentProviderError, PaymentOperationConflict, PaymentOperationNeedsReview) as error:
                log.warning("order_expiry_failed", order_id=order.id, code=error.code, detail=error.detail)
                outcomes["failed"] += 1
                continue
            outcomes["canceled" if canceled else "paid_meanwhile"] += 1
        log.info("orders_expired", **outcomes)
        return outcomes

    # Reading

    async def get(self, order_id: str) -> Order | None:
        return await self._orders.get(order_id)

    async def view(self, order_id: str, viewer_id: str, *, staff: bool, seller: bool) -> OrderView:
        """The order as `viewer_id` may see it (`OrderView`): another's order is not found."""
        order = await self._orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        if staff or order.buyer_id == viewer_id:
            return OrderView(order, tuple(await self._orders.escrows_of(order_id)))
        escrows = await self._orders.escrows_of(order_id, seller_id=viewer_id) if seller else []
        if not escrows:
            raise NotFound(f"no order {order_id}")
        return OrderView(order, tuple(escrows), seller_id=viewer_id)

    async def page(self, buyer_id: str, limit: int, starting_after: str | None) -> OrderPage:
        return await self._orders.page(buyer_id, limit, starting_after)

    async def seller_in_escrow(self, seller_id: str, currency: str) -> int:
        """What the ledger holds in the seller's escrows not released yet, in `currency`."""
        accounts = await self._orders.unreleased_escrow_accounts(seller_id, currency)
        return sum((await self._ledger.balances(accounts, currency)).values()) if accounts else 0
