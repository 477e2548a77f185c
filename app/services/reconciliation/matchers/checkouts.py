"""Checkouts: every succeeded platform PaymentIntent paying an order has its card entry
`checkout_card:{pi}` of the same amount and currency, and every such entry has its succeeded
PaymentIntent (`payments.py`). What the wallet paid (`checkout:{order}`) never reaches Stripe and
is not compared here; the legacy part of it is the reserve check's."""

from __future__ import annotations

from app.adapters.payment_provider import PaymentProvider
from app.domain.checkout import CHECKOUT_PURPOSE, card_entry_key
from app.domain.ledger import EntryKind
from app.services.ledger import Ledger
from app.services.reconciliation.matchers.payments import PaymentIntentMatcher, PaymentPurpose

CHECKOUTS = PaymentPurpose(
    subject="checkout",
    purpose=CHECKOUT_PURPOSE,
    entry_key=card_entry_key,
    entry_kind=EntryKind.CHECKOUT,
    seen="checkout_payment_intent",
    ours="order",
    paid_for="an order",
    booked="booked",
)


class CheckoutMatcher(PaymentIntentMatcher):
    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        super().__init__("checkouts", CHECKOUTS, provider, ledger)
