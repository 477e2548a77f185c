import pytest

from app.domain.ledger import (
    Accounts,
    EntryKind,
    JournalEntry,
    Move,
    UnbalancedEntry,
    entry,
    may_go_negative,
    platform_stripe_balance,
)
from app.domain.money import InvalidMoney


def test_deltas_net_out_per_account_and_conserve_per_currency() -> None:
    journal = entry(
        "k1",
        EntryKind.CHECKOUT,
        [
            Move(Accounts.buyer_wallet("b"), Accounts.escrow("o", "s"), 700, "usd"),
            Move(Accounts.CARD, Accounts.escrow("o", "s"), 300, "usd"),
            Move(Accounts.escrow("o", "s"), Accounts.PLATFORM_FEES, 100, "usd"),
        ],
    )
    deltas = journal.balance_deltas()
    assert deltas[(Accounts.escrow("o", "s"), "usd")] == 900
    assert deltas[(Accounts.buyer_wallet("b"), "usd")] == -700
    assert sum(deltas.values()) == 0


@pytest.mark.parametrize(
    ("source", "destination", "amount", "currency"),
    [
        ("a", "b", 0, "usd"),
        ("a", "b", -5, "usd"),
        ("a", "a", 5, "usd"),
        ("a", "b", 5, "US"),
        ("", "b", 5, "usd"),
    ],
)
def test_invalid_moves_are_refused(source: str, destination: str, amount: int, currency: str) -> None:
    with pytest.raises((UnbalancedEntry, InvalidMoney)):
        Move(source, destination, amount, currency)


def test_entries_need_a_key_and_a_move() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry(key="", kind=EntryKind.ADJUSTMENT, moves=(Move("a", "b", 1, "usd"),))
    with pytest.raises(UnbalancedEntry):
        JournalEntry(key="k", kind=EntryKind.ADJUSTMENT, moves=())


def test_fingerprint_differs_with_moves_and_refs() -> None:
    base = entry("k", EntryKind.TOPUP, [Move("a", "b", 1, "usd")], topup="t1")
    assert (
        base.fingerprint()
        == entry("k", EntryKind.TOPUP, [Move("a", "b", 1, "usd")], topup="t1").fingerprint()
    )
    assert (
        base.fingerprint()
        != entry("k", EntryKind.TOPUP, [Move("a", "b", 2, "usd")], topup="t1").fingerprint()
    )
    assert (
        base.fingerprint()
        != entry("k", EntryKind.TOPUP, [Move("a", "b", 1, "usd")], topup="t2").fingerprint()
    )


def test_only_the_world_and_the_platforms_own_result_may_go_negative() -> None:
    assert may_go_negative(Accounts.CARD)
    assert may_go_negative(Accounts.LEGACY_RESERVE)
    assert may_go_negative(Accounts.STRIPE_FEES)
    assert may_go_negative(Accounts.PLATFORM_FEES)
    assert not may_go_negative(Accounts.buyer_wallet("u"))
    assert not may_go_negative(Accounts.buyer_legacy("u"))
    assert not may_go_negative(Accounts.escrow("o", "s"))
    assert not may_go_negative(Accounts.seller_pending_transfer("s"))
    assert not may_go_negative(Accounts.seller_connected("s"))
    assert not may_go_negative("treasury:unknown")  # anything not named is custody, with a floor


def test_the_platform_stripe_balance_is_custody_held_there_plus_the_platforms_result() -> None:
    balances = {
        Accounts.buyer_wallet("b"): 10_000,
        Accounts.buyer_legacy("b"): 5_000,  # in the legacy reserve, not at Stripe
        Accounts.escrow("o", "s"): 3_000,
        Accounts.seller_pending_transfer("s"): 900,
        Accounts.seller_connected("s"): 4_000,  # on the seller's connected account
        Accounts.PLATFORM_FEES: -320,
        Accounts.RESERVE_FUNDING: 1_000,  # legacy money in the escrow, still owed by the reserve
        Accounts.CARD: -13_000,
        Accounts.STRIPE_FEES: 320,
        Accounts.LEGACY_RESERVE: -5_000,
    }
    assert platform_stripe_balance(balances) == 10_000 + 3_000 + 900 - 320 - 1_000
