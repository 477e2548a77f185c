"""External bank accounts, where payouts go: Stripe's test bank numbers choose what happens to
a payout (https://docs.stripe.com/connect/testing#payouts, US routing number 110000000):
000123456789 pays, 000111111116 fails with `no_account`, 000111111113 with `account_closed`,
000222222227 with `insufficient_funds`, 000333333335 with `debit_not_authorized`, and
000444444440 with `invalid_currency`. Other numbers pay, as test-mode payouts do.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator import errors
from stripe_emulator.emulator import Emulator
from stripe_emulator.events import emit
from stripe_emulator.ids import new_id, random_token
from stripe_emulator.objects import JsonObject, from_fixture, list_object

TEST_ROUTING_NUMBER = "110000000"
PAYING_ACCOUNT_NUMBER = "000123456789"
PAYOUT_FAILURES = {
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
}
TEST_ACCOUNT_NUMBERS = (PAYING_ACCOUNT_NUMBER, *PAYOUT_FAILURES)


def add_bank_account(
    emu: Emulator, account: JsonObject, owner: str | None, details: dict[str, Any]
) -> JsonObject:
    """Attach a bank account to `account` (held by `owner`; None for the platform). As Stripe's
    `external_account` parameter does, it becomes the default for its currency."""
    number = details.get("account_number", "")
    if not number.isdigit():
        raise errors.invalid_request(
            "The account number must be digits, such as Stripe's test number 000123456789.",
            param="external_account[account_number]",
        )
    currency = details.get("currency", "usd")
    for existing in bank_accounts(emu, owner):
        if existing["currency"] == currency:
            existing["default_for_currency"] = False
    bank_account = from_fixture(
        "bank_account",
        id=new_id("ba"),
        account=account["id"],
        account_holder_name=details.get("account_holder_name"),
        account_holder_type=details.get("account_holder_type", "individual"),
        available_payout_methods=["standard"],
        country=details.get("country", "US"),
        currency=currency,
        default_for_currency=True,
        fingerprint=random_token(16),
        last4=number[-4:],
        metadata={},
        routing_number=details.get("routing_number", TEST_ROUTING_NUMBER),
    )
    emu.store.add(bank_account, owner=owner)
    emu.bank_account_numbers[bank_account["id"]] = number
    account["external_accounts"] = list_object(
        f"/v1/accounts/{account['id']}/external_accounts", bank_accounts(emu, owner)
    )
    if owner is not None:
        emit(emu, "account.external_account.created", bank_account, account=owner)
    return bank_account


def bank_accounts(emu: Emulator, owner: str | None) -> list[JsonObject]:
    return emu.store.newest_first("bank_account", owner)


def default_bank_account(emu: Emulator, owner: str | None, currency: str) -> JsonObject | None:
    for bank_account in bank_accounts(emu, owner):
        if bank_account["currency"] == currency and bank_account["default_for_currency"]:
            return bank_account
    return None


def payout_failure(emu: Emulator, bank_account: JsonObject) -> str | None:
    """The failure code a payout to this bank account ends with; None when it pays."""
    return PAYOUT_FAILURES.get(emu.bank_account_numbers.get(bank_account["id"], ""))
