"""Many objects at once, for measuring code that reads Stripe at volume (`make bench`).

Seeded objects are history: they are stored as Stripe would hold them after the fact, and no
event is sent for them. A seeded PaymentIntent has succeeded, and its charge's balance
transaction (Stripe's US card fee, pending until two days after the payment) is on the platform,
so the balance, the PaymentIntent and balance transaction lists and retrieving either object
answer as they would after real payments. The charge objects themselves are not stored, to keep
a hundred thousand payments within a few hundred megabytes: their ids are on the PaymentIntents
(`latest_charge`) and balance transactions (`source`), and retrieving one answers 404.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator.balances import CARD_FUNDS_DELAY_SECONDS, add_transaction, card_fee
from stripe_emulator.emulator import Emulator
from stripe_emulator.ids import new_id
from stripe_emulator.objects import JsonObject
from stripe_emulator.operations.payment_intents import new_intent

MAX_SEEDED_PER_CALL = 10_000


def seed_paid_intents(
    emu: Emulator, count: int, amount: int, currency: str, metadata: dict[str, str]
) -> list[JsonObject]:
    """`count` succeeded PaymentIntents of `amount` on the platform; what each one seeded."""
    return [_paid_intent(emu, amount, currency, metadata) for _ in range(count)]


def _paid_intent(emu: Emulator, amount: int, currency: str, metadata: dict[str, str]) -> JsonObject:
    params: dict[str, Any] = {"amount": amount, "currency": currency, "metadata": metadata}
    intent = new_intent(emu, params, None)
    charge_id = new_id("ch")
    txn = add_transaction(
        emu,
        account=None,
        amount=amount,
        currency=currency,
        txn_type="charge",
        source=charge_id,
        reporting_category="charge",
        fee=card_fee(amount),
        available_on=intent["created"] + CARD_FUNDS_DELAY_SECONDS,
    )
    intent.update(status="succeeded", amount_received=amount, latest_charge=charge_id)
    emu.store.add(intent)
    return {
        "payment_intent": intent["id"],
        "charge": charge_id,
        "balance_transaction": txn["id"],
        "amount": amount,
        "fee": txn["fee"],
        "currency": currency,
        "created": intent["created"],
    }
