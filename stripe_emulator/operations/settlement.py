"""Money settling as at Stripe: a card charge's balance transaction arriving after the payment,
and funds becoming available on their `available_on` date.

Since 2024 Stripe captures card payments asynchronously by default: "the `balance_transaction`
field on the Charge object might be `null` immediately after confirmation ... listen to the
`charge.updated` event to know when the balance transaction becomes available"
(https://docs.stripe.com/payments/payment-intents/asynchronous-capture). With the `deferred`
setting the emulator does the same; with `immediate` the transaction is set on the charge at once.

When funds become available, `balance.available` is sent on the account holding them ("Occurs
whenever your Stripe balance has been updated... This event is not fired for negative
transactions", Stripe's event types).
"""

from __future__ import annotations

from collections.abc import Callable

from stripe_emulator import errors
from stripe_emulator.balances import CARD_FUNDS_DELAY_SECONDS, add_transaction, balance_object, card_fee
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.objects import JsonObject, changed_fields, snapshot


def charge_funds_available_on(emu: Emulator, charge: JsonObject) -> int:
    """When a charge's money is available: its balance transaction's date, or the date it will
    have (two days after the charge) while the transaction is not known yet."""
    if charge["balance_transaction"] is not None:
        txn = emu.store.require("balance_transaction", charge["balance_transaction"])
        available_on: int = txn["available_on"]
        return available_on
    planned: int = charge["created"] + CARD_FUNDS_DELAY_SECONDS
    return planned


def record_card_charge(emu: Emulator, charge: JsonObject) -> None:
    """A card charge succeeded: set its balance transaction now, or let it arrive later."""
    if emu.config.settlement == "immediate":
        charge["balance_transaction"] = _charge_transaction(emu, charge)["id"]
        return
    delay = emu.config.processing_delay_seconds
    emu.pending.charge_balance_transactions[charge["id"]] = emu.clock.time() + (delay or 0)
    if delay is not None:
        charge_id = charge["id"]
        emu.timers.later(delay, lambda: post_balance_transaction(emu, charge_id, quietly=True))


def post_balance_transaction(emu: Emulator, charge_id: str, *, quietly: bool = False) -> JsonObject:
    """The charge's balance transaction becomes known: set on the charge, sent as `charge.updated`
    with `previous_attributes: {"balance_transaction": null}`."""
    charge = emu.store.require("charge", charge_id)
    if emu.pending.charge_balance_transactions.pop(charge_id, None) is None:
        if quietly:
            return charge
        raise errors.invalid_request(f"The balance transaction of charge {charge_id} is already known.")
    before = snapshot(charge)
    charge["balance_transaction"] = _charge_transaction(emu, charge)["id"]
    emit(emu, "charge.updated", charge, previous=changed_fields(before, charge))
    return charge


def post_all_balance_transactions(emu: Emulator) -> None:
    for charge_id in list(emu.pending.charge_balance_transactions):
        post_balance_transaction(emu, charge_id)


def post_due_balance_transactions(emu: Emulator, until: float) -> None:
    for charge_id, due in list(emu.pending.charge_balance_transactions.items()):
        if due <= until:
            post_balance_transaction(emu, charge_id)


def release_due_funds(emu: Emulator) -> int:
    """Funds whose `available_on` has come become available, on every account."""
    now = emu.clock.now()
    return _make_available(emu, lambda account, txn: txn["available_on"] <= now, keep_date=True)


def settle_now(emu: Emulator, accounts: Callable[[str | None], bool]) -> int:
    """Every pending transaction of the chosen accounts becomes available now (charges whose
    balance transaction is still to come get it first); returns how many."""
    if accounts(None):
        post_all_balance_transactions(emu)
    return _make_available(emu, lambda account, txn: accounts(account), keep_date=False)


def _make_available(emu: Emulator, due: Callable[[str | None, JsonObject], bool], *, keep_date: bool) -> int:
    settled = 0
    credited: dict[str | None, bool] = {}
    for account, txn in emu.store.owned("balance_transaction"):
        if txn["status"] != "pending" or not due(account, txn):
            continue
        txn["status"] = "available"
        if not keep_date:
            txn["available_on"] = emu.clock.now()
        settled += 1
        credited[account] = credited.get(account, False) or txn["net"] > 0
    for account, positive in credited.items():
        if positive:
            emit(emu, "balance.available", balance_object(emu.store, account), account=account)
    return settled


def _charge_transaction(emu: Emulator, charge: JsonObject) -> JsonObject:
    return add_transaction(
        emu,
        account=None,
        amount=charge["amount"],
        currency=charge["currency"],
        txn_type="charge",
        source=charge["id"],
        reporting_category="charge",
        description=charge["description"],
        fee=card_fee(charge["amount"]),
        available_on=charge["created"] + CARD_FUNDS_DELAY_SECONDS,
    )
