"""Top-ups: every succeeded platform PaymentIntent paying a top-up has its credit `topup:{pi}` of
the same amount and currency, and every such credit has its succeeded PaymentIntent (`payments.py`)."""

from __future__ import annotations

from app.adapters.payment_provider import PaymentProvider
from app.domain.ledger import EntryKind
from app.domain.wallet import TOPUP_PURPOSE, topup_entry_key
from app.services.ledger import Ledger
from app.services.reconciliation.matchers.payments import PaymentIntentMatcher, PaymentPurpose

TOPUPS = PaymentPurpose(
    subject="topup",
    purpose=TOPUP_PURPOSE,
    entry_key=topup_entry_key,
    entry_kind=EntryKind.TOPUP,
    seen="payment_intent",
    ours="topup",
    paid_for="a top-up",
    booked="credited",
)


class TopupMatcher(PaymentIntentMatcher):
    def __init__(self, provider: PaymentProvider, ledger: Ledger) -> None:
        super().__init__("topups", TOPUPS, provider, ledger)
