"""Spending takes legacy money first, never overdraws, and refunds go back to their sources."""

import asyncio
from datetime import timedelta

import pytest

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.config import Settings
from app.db import Collections, Database
from app.domain.ledger import Accounts, EntryKeyConflict, EntryKind, InsufficientFunds, Move, entry
from app.domain.money import Money
from app.domain.wallet import FundingSplit
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration
from app.services.wallet import WalletEntry, WalletFunds
from tests.legacy_wallets import insert_legacy_wallet

SINK = "escrow:order:seller"


@pytest.fixture
def funds(database: Database, ledger: Ledger, settings: Settings) -> WalletFunds:
    return WalletFunds(
        database,
        ledger,
        LegacyMigration(
            database,
            ledger,
            LegacyWalletBridge(database, settings),
            AuditLog(database),
            platform_currency="usd",
            recheck=timedelta(0),
        ),
    )


async def fund_platform_wallet(ledger: Ledger, user_id: str, amount: int) -> None:
    await ledger.post(
        entry(
            f"topup:{user_id}",
            EntryKind.TOPUP,
            [Move(Accounts.CARD, Accounts.buyer_wallet(user_id), amount, "usd")],
        )
    )


async def test_twenty_concurrent_spends_take_legacy_first_and_never_overdraw(
    database: Database, ledger: Ledger, funds: WalletFunds
) -> None:
    await insert_legacy_wallet(database, "b1", "30.00")
    await fund_platform_wallet(ledger, "b1", 5000)
    amounts = [700, 300] * 10  # 10,000 asked of 8,000 held

    async def spend(index: int, amount: int) -> FundingSplit | None:
        try:
            record = WalletEntry(f"spend:{index}", EntryKind.CHECKOUT, {"order": f"o{index}"})
            return await funds.spend("b1", Money(amount, "usd"), SINK, record)
        except InsufficientFunds:
            return None

    splits = [s for s in await asyncio.gather(*(spend(i, a) for i, a in enumerate(amounts))) if s]

    spent = sum(s.total for s in splits)
    assert all(s.total == s.legacy + s.platform for s in splits)
    assert sum(s.legacy for s in splits) == min(3000, spent)  # legacy is exhausted before platform
    assert sum(s.platform for s in splits) == spent - min(3000, spent)
    assert 8000 - 700 < spent <= 8000  # only a refusal for lack of money stops a spend
    assert sum(1 for s in splits if s.legacy and s.platform) <= 1
    legacy_left = await ledger.balance(Accounts.buyer_legacy("b1"), "usd")
    platform_left = await ledger.balance(Accounts.buyer_wallet("b1"), "usd")
    assert (legacy_left, platform_left) == (3000 - min(3000, spent), 5000 - (spent - min(3000, spent)))
    assert await ledger.balance(SINK, "usd") == spent
    assert await ledger.balance(Accounts.RESERVE_FUNDING, "usd") == 3000 - legacy_left
    assert await ledger.totals_by_currency() == {"usd": 0}


async def test_a_spend_repeated_with_its_key_is_applied_once(ledger: Ledger, funds: WalletFunds) -> None:
    await fund_platform_wallet(ledger, "b2", 1000)
    first = await funds.spend("b2", Money(400, "usd"), SINK, WalletEntry("spend:x", EntryKind.CHECKOUT, {}))
    again = await funds.spend("b2", Money(400, "usd"), SINK, WalletEntry("spend:x", EntryKind.CHECKOUT, {}))
    assert first == again == FundingSplit(legacy=0, platform=400, currency="usd")
    assert await ledger.balance(Accounts.buyer_wallet("b2"), "usd") == 600
    with pytest.raises(EntryKeyConflict):
        await funds.spend("b2", Money(500, "usd"), SINK, WalletEntry("spend:x", EntryKind.CHECKOUT, {}))


async def test_the_first_spend_migrates_the_legacy_wallet(
    database: Database, ledger: Ledger, funds: WalletFunds
) -> None:
    await insert_legacy_wallet(database, "b3", 2.5)
    split = await funds.spend("b3", Money(100, "usd"), SINK, WalletEntry("spend:m", EntryKind.CHECKOUT, {}))
    assert split == FundingSplit(legacy=100, platform=0, currency="usd")
    assert await database[Collections.LEGACY_WALLETS].count_documents({"user_id": "b3"}) == 1
    assert await ledger.balance(Accounts.buyer_legacy("b3"), "usd") == 150


async def test_an_overspend_changes_nothing(database: Database, ledger: Ledger, funds: WalletFunds) -> None:
    await insert_legacy_wallet(database, "b4", "1.00")
    await fund_platform_wallet(ledger, "b4", 100)
    with pytest.raises(InsufficientFunds):
        await funds.spend("b4", Money(201, "usd"), SINK, WalletEntry("spend:over", EntryKind.CHECKOUT, {}))
    assert await ledger.balance(Accounts.buyer_legacy("b4"), "usd") == 100
    assert await ledger.balance(Accounts.buyer_wallet("b4"), "usd") == 100
    assert await ledger.entry("spend:over") is None
    assert await ledger.entry("spend:over:reserve") is None


async def test_refunds_go_back_to_each_source_with_the_reserve_adjustment_reversed(
    database: Database, ledger: Ledger, funds: WalletFunds
) -> None:
    await insert_legacy_wallet(database, "b5", "3.00")
    await fund_platform_wallet(ledger, "b5", 500)
    split = await funds.spend(
        "b5", Money(700, "usd"), SINK, WalletEntry("spend:r", EntryKind.CHECKOUT, {"order": "o"})
    )
    assert split == FundingSplit(legacy=300, platform=400, currency="usd")

    refunded = await funds.refund_to_sources(
        "b5", split, SINK, WalletEntry("refund:r", EntryKind.REFUND, {"order": "o"})
    )
    again = await funds.refund_to_sources(
        "b5", split, SINK, WalletEntry("refund:r", EntryKind.REFUND, {"order": "o"})
    )

    assert refunded == again == split
    assert await ledger.balance(Accounts.buyer_legacy("b5"), "usd") == 300
    assert await ledger.balance(Accounts.buyer_wallet("b5"), "usd") == 500
    assert await ledger.balance(SINK, "usd") == 0
    assert await ledger.balance(Accounts.RESERVE_FUNDING, "usd") == 0
    assert await ledger.totals_by_currency() == {"usd": 0}


async def test_a_refund_cannot_exceed_what_the_source_holds(ledger: Ledger, funds: WalletFunds) -> None:
    await fund_platform_wallet(ledger, "b6", 500)
    await funds.spend("b6", Money(200, "usd"), SINK, WalletEntry("spend:s", EntryKind.CHECKOUT, {}))
    with pytest.raises(InsufficientFunds):
        await funds.refund_to_sources(
            "b6",
            FundingSplit(legacy=0, platform=201, currency="usd"),
            SINK,
            WalletEntry("refund:s", EntryKind.REFUND),
        )
    assert await ledger.balance(Accounts.buyer_wallet("b6"), "usd") == 300


async def test_a_spend_replayed_to_another_destination_or_with_other_refs_is_a_conflict(
    ledger: Ledger, funds: WalletFunds
) -> None:
    await fund_platform_wallet(ledger, "b7", 1000)
    record = WalletEntry("spend:d", EntryKind.CHECKOUT, {"order": "o1"})
    first = await funds.spend("b7", Money(400, "usd"), SINK, record)

    with pytest.raises(EntryKeyConflict):
        await funds.spend("b7", Money(400, "usd"), "escrow:order:other-seller", record)
    with pytest.raises(EntryKeyConflict):
        await funds.spend(
            "b7", Money(400, "usd"), SINK, WalletEntry("spend:d", EntryKind.CHECKOUT, {"order": "o2"})
        )
    with pytest.raises(EntryKeyConflict):
        await funds.refund_to_sources(
            "b7",
            first,
            "escrow:order:other-seller",
            WalletEntry("spend:d", EntryKind.CHECKOUT, {"order": "o1"}),
        )

    assert await funds.spend("b7", Money(400, "usd"), SINK, record) == first
    assert await ledger.balance("escrow:order:other-seller", "usd") == 0
    assert await ledger.balance(SINK, "usd") == 400
    assert await ledger.balance(Accounts.buyer_wallet("b7"), "usd") == 600
