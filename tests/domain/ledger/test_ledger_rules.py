import pytest

from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, UnbalancedEntry, entry, may_go_negative
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


def test_only_world_accounts_may_go_negative() -> None:
    assert may_go_negative(Accounts.CARD)
    assert may_go_negative(Accounts.LEGACY_RESERVE)
    assert not may_go_negative(Accounts.PLATFORM_FEES)
    assert not may_go_negative(Accounts.buyer_wallet("u"))
    assert not may_go_negative(Accounts.escrow("o", "s"))
