"""The ledger's invariants: conservation, no overdraft under concurrency, exactly-once posting."""

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.db import Collections, Database, connect
from app.domain.ledger import (
    Accounts,
    EntryKeyConflict,
    EntryKind,
    InsufficientFunds,
    JournalEntry,
    Move,
    entry,
    may_go_negative,
)
from app.services.ledger import Ledger
from tests.command_log import CommandLog

ACCOUNT_NAMES = [
    "world:card",
    "world:bank",
    "buyer:a:wallet",
    "buyer:b:wallet",
    "escrow:o:s",
    "platform:fees",
]

moves_strategy = st.lists(
    st.tuples(
        st.sampled_from(ACCOUNT_NAMES),
        st.sampled_from(ACCOUNT_NAMES),
        st.integers(min_value=1, max_value=500),
        st.sampled_from(["usd", "eur"]),
    ).filter(lambda m: m[0] != m[1]),
    min_size=1,
    max_size=3,
)


async def assert_conserved(database: Database, ledger: Ledger) -> None:
    """Postings sum to zero per currency, and every balance document equals its postings' sum."""
    assert all(total == 0 for total in (await ledger.totals_by_currency()).values())
    async for account in database[Collections.LEDGER_ACCOUNTS].find():
        postings = database[Collections.LEDGER_POSTINGS].find(
            {"account": account["account"], "currency": account["currency"]}
        )
        assert account["balance"] == sum([p["amount"] async for p in postings])


async def lowest_non_world_balance(database: Database) -> int:
    balances = [
        doc["balance"]
        async for doc in database[Collections.LEDGER_ACCOUNTS].find({}, {"account": 1, "balance": 1})
        if not may_go_negative(doc["account"])
    ]
    return min(balances, default=0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(moves_strategy, min_size=1, max_size=12))
async def test_random_entries_conserve_money_and_never_overdraw(
    database: Database, ledger: Ledger, entries: list[list[tuple[str, str, int, str]]]
) -> None:
    prefix = uuid.uuid4().hex[:8]  # each example works on its own accounts

    def name(account: str) -> str:
        return f"{account}:{prefix}" if may_go_negative(account) else f"{prefix}:{account}"

    model: dict[tuple[str, str], int] = defaultdict(int)
    for index, raw_moves in enumerate(entries):
        journal = entry(
            f"{prefix}:{index}",
            EntryKind.ADJUSTMENT,
            [Move(name(src), name(dst), amount, currency) for src, dst, amount, currency in raw_moves],
        )
        proposed = dict(model)
        for key, delta in journal.balance_deltas().items():
            proposed[key] = proposed.get(key, 0) + delta
        overdraws = any(value < 0 and not may_go_negative(acct) for (acct, _), value in proposed.items())
        if overdraws:
            with pytest.raises(InsufficientFunds):
                await ledger.post(journal)
            assert await ledger.entry(journal.key) is None
        else:
            await ledger.post(journal)
            model = defaultdict(int, proposed)

    for (account, currency), expected in model.items():
        assert await ledger.balance(account, currency) == expected
    await assert_conserved(database, ledger)
    assert await lowest_non_world_balance(database) >= 0


@pytest.fixture
async def ledgers_of_five_processes(settings: Settings, database: Database) -> AsyncIterator[list[Ledger]]:
    """Five ledgers with their own clients, as five service replicas would have: nothing in one
    process serializes them, only MongoDB."""
    databases = [connect(settings.mongodb_uri, settings.mongodb_database) for _ in range(5)]
    yield [Ledger(replica) for replica in databases]
    for replica in databases:
        await replica.close()


async def test_fifty_concurrent_spends_of_ten_from_a_hundred(
    database: Database, ledger: Ledger, ledgers_of_five_processes: list[Ledger]
) -> None:
    wallet = Accounts.buyer_wallet("spender")
    await ledger.post(entry("fund", EntryKind.TOPUP, [Move(Accounts.CARD, wallet, 100, "usd")]))

    async def spend(index: int) -> bool:
        replica = ledgers_of_five_processes[index % 5]
        try:
            await replica.post(
                entry(f"spend:{index}", EntryKind.ADJUSTMENT, [Move(wallet, Accounts.BANK, 10, "usd")])
            )
        except InsufficientFunds:
            return False
        return True

    outcomes = await asyncio.gather(*(spend(i) for i in range(50)))

    assert sum(outcomes) == 10
    assert await ledger.balance(wallet, "usd") == 0
    assert await ledger.totals_by_currency() == {"usd": 0}
    await assert_conserved(database, ledger)
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({"kind": "adjustment"}) == 10


async def test_the_same_entry_posted_twenty_times_concurrently_is_applied_once(
    database: Database, ledger: Ledger, ledgers_of_five_processes: list[Ledger]
) -> None:
    wallet = Accounts.buyer_wallet("payee")
    journal = entry("topup:pi_123", EntryKind.TOPUP, [Move(Accounts.CARD, wallet, 2500, "usd")], topup="t1")

    posted = await asyncio.gather(*(ledgers_of_five_processes[i % 5].post(journal) for i in range(20)))

    assert {record.id for record in posted} == {"topup:pi_123"}
    assert await ledger.balance(wallet, "usd") == 2500
    assert await database[Collections.LEDGER_POSTINGS].count_documents({"entry_id": "topup:pi_123"}) == 2


async def test_a_different_entry_under_a_used_key_is_a_typed_conflict(ledger: Ledger) -> None:
    await ledger.post(entry("k", EntryKind.TOPUP, [Move(Accounts.CARD, "buyer:x:wallet", 100, "usd")]))
    with pytest.raises(EntryKeyConflict):
        await ledger.post(entry("k", EntryKind.TOPUP, [Move(Accounts.CARD, "buyer:x:wallet", 101, "usd")]))
    assert await ledger.balance("buyer:x:wallet", "usd") == 100


async def test_a_refused_entry_changes_nothing(database: Database, ledger: Ledger) -> None:
    await ledger.post(entry("fund", EntryKind.TOPUP, [Move(Accounts.CARD, "buyer:y:wallet", 50, "usd")]))
    two_legged = JournalEntry(
        key="split",
        kind=EntryKind.ADJUSTMENT,
        moves=(
            Move("buyer:y:wallet", "escrow:o:s", 40, "usd"),
            Move("escrow:o:s", "world:bank", 60, "usd"),  # the escrow holds only 40: the whole entry fails
        ),
    )
    with pytest.raises(InsufficientFunds):
        await ledger.post(two_legged)
    assert await ledger.balance("buyer:y:wallet", "usd") == 50
    assert await ledger.balance("escrow:o:s", "usd") == 0
    assert await database[Collections.LEDGER_POSTINGS].count_documents({"entry_id": "split"}) == 0


async def test_the_platforms_result_may_go_negative_but_custody_never(
    database: Database, ledger: Ledger
) -> None:
    fee = entry("fee", EntryKind.STRIPE_FEE, [Move(Accounts.PLATFORM_FEES, Accounts.STRIPE_FEES, 320, "usd")])
    await ledger.post(fee)
    assert await ledger.balance(Accounts.PLATFORM_FEES, "usd") == -320
    assert await ledger.balance(Accounts.STRIPE_FEES, "usd") == 320

    for custody in (
        Accounts.buyer_wallet("c"),
        Accounts.buyer_legacy("c"),
        Accounts.escrow("o", "s"),
        Accounts.seller_pending_transfer("s"),
        Accounts.seller_connected("s"),
    ):
        with pytest.raises(InsufficientFunds):
            await ledger.post(
                entry(f"out:{custody}", EntryKind.ADJUSTMENT, [Move(custody, Accounts.BANK, 1, "usd")])
            )
        assert await ledger.balance(custody, "usd") == 0
    await assert_conserved(database, ledger)


async def test_history_lists_postings_newest_first_with_balance_after(ledger: Ledger) -> None:
    wallet = "buyer:h:wallet"
    for index, amount in enumerate([100, 250, 50]):
        await ledger.post(entry(f"in:{index}", EntryKind.TOPUP, [Move(Accounts.CARD, wallet, amount, "usd")]))
    await ledger.post(entry("out", EntryKind.ADJUSTMENT, [Move(wallet, Accounts.BANK, 120, "usd")]))

    first_page = await ledger.history(wallet, "usd", limit=2)
    rest = await ledger.history(wallet, "usd", limit=10, before_seq=first_page[-1].seq)

    assert [(p.entry_id, p.amount, p.balance_after) for p in first_page] == [
        ("out", -120, 280),
        ("in:2", 50, 400),
    ]
    assert [(p.entry_id, p.amount, p.balance_after) for p in rest] == [("in:1", 250, 350), ("in:0", 100, 100)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=moves_strategy, data=st.data())
async def test_an_entry_whose_moves_cancel_out_is_posted_without_changing_a_balance(
    database: Database, ledger: Ledger, moves: list[tuple[str, str, int, str]], data: st.DataObject
) -> None:
    """Moves and their reverses, in any order: a valid entry that changes no balance. It is
    recorded (its key is used, its moves kept) and changes nothing, never a server error."""
    prefix = uuid.uuid4().hex[:8]
    there_and_back = [*moves, *[(dst, src, amount, currency) for src, dst, amount, currency in moves]]
    shuffled = data.draw(st.permutations(there_and_back))
    journal = entry(
        f"{prefix}:cancelling",
        EntryKind.ADJUSTMENT,
        [
            Move(f"{prefix}:{src}", f"{prefix}:{dst}", amount, currency)
            for src, dst, amount, currency in shuffled
        ],
    )

    first = await ledger.post(journal)
    again = await ledger.post(journal)

    assert (again.id, again.fingerprint, again.moves) == (first.id, first.fingerprint, journal.moves)
    assert await database[Collections.LEDGER_POSTINGS].count_documents({"entry_id": journal.key}) == 0
    for src, dst, _, currency in moves:
        assert await ledger.balance(f"{prefix}:{src}", currency) == 0
        assert await ledger.balance(f"{prefix}:{dst}", currency) == 0


async def test_a_post_is_one_read_and_one_write_in_a_transaction(
    database: Database, ledger: Ledger, settings: Settings, command_log: CommandLog
) -> None:
    credit = entry("credit", EntryKind.TOPUP, [Move(Accounts.CARD, Accounts.buyer_wallet("q"), 100, "usd")])
    spend = entry("spend", EntryKind.ADJUSTMENT, [Move(Accounts.buyer_wallet("q"), Accounts.BANK, 30, "usd")])

    with command_log.recording(settings.mongodb_database) as commands:
        await ledger.post(credit)
        await ledger.post(spend)

    assert [(c.name, c.collection) for c in commands] == [
        ("find", Collections.LEDGER_ACCOUNTS),  # its custody balances
        ("bulkWrite", "journal_entries+ledger_accounts+ledger_postings"),
        ("commitTransaction", None),
    ] * 2
    history = await ledger.history(Accounts.buyer_wallet("q"), "usd")
    assert [(p.amount, p.balance_after, p.seq) for p in history] == [(-30, 70, 2), (100, 100, 1)]
    await assert_conserved(database, ledger)


async def test_an_entry_of_the_platform_against_the_world_reads_nothing(
    database: Database, ledger: Ledger, settings: Settings, command_log: CommandLog
) -> None:
    fee = entry("fee", EntryKind.STRIPE_FEE, [Move(Accounts.PLATFORM_FEES, Accounts.STRIPE_FEES, 30, "usd")])

    with command_log.recording(settings.mongodb_database) as commands:
        await ledger.post(fee)

    assert [(c.name, c.collection) for c in commands] == [
        ("insert", Collections.JOURNAL_ENTRIES),  # a bulkWrite cannot open a transaction
        ("bulkWrite", "ledger_postings"),
        ("commitTransaction", None),
    ]
    assert await ledger.balance(Accounts.PLATFORM_FEES, "usd") == -30
    await assert_conserved(database, ledger)


async def test_an_entry_posted_again_is_a_duplicate_even_when_it_spent_the_money(
    database: Database, ledger: Ledger
) -> None:
    wallet = Accounts.buyer_wallet("r")
    await ledger.post(entry("fund:r", EntryKind.TOPUP, [Move(Accounts.CARD, wallet, 100, "usd")]))
    spend = entry("spend:r", EntryKind.ADJUSTMENT, [Move(wallet, Accounts.BANK, 100, "usd")])
    first = await ledger.post(spend)

    again = await ledger.post(spend)  # the wallet is empty now: its own spending, not a shortage

    assert (again.id, again.fingerprint) == (first.id, first.fingerprint)
    assert await ledger.balance(wallet, "usd") == 0
    with pytest.raises(InsufficientFunds):
        await ledger.post(entry("spend:r2", EntryKind.ADJUSTMENT, [Move(wallet, Accounts.BANK, 1, "usd")]))
    await assert_conserved(database, ledger)


async def test_entries_of_a_window_may_be_read_by_kind_and_key_prefixes(ledger: Ledger) -> None:
    """A reconciliation reads one flow's entries of a kind: the keys' prefixes are matched by
    the database as prefixes (a `.` or `|` in one is not a pattern)."""
    card = Move(Accounts.CARD, Accounts.buyer_wallet("a"), 100, "usd")
    for key in ("refund:card:1", "refund:card.2", "refund:wallet:3", "refund|card:4"):
        await ledger.post(entry(key, EntryKind.REFUND, [card]))
    await ledger.post(entry("topup:card:5", EntryKind.TOPUP, [card]))
    start, end = datetime.now(UTC) - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1)

    async def keys(*prefixes: str) -> list[str]:
        return sorted([e.id async for e in ledger.entries_created(start, end, EntryKind.REFUND, *prefixes)])

    assert await keys() == ["refund:card.2", "refund:card:1", "refund:wallet:3", "refund|card:4"]
    assert await keys("refund:card:") == ["refund:card:1"]
    assert await keys("refund:card:", "refund|") == ["refund:card:1", "refund|card:4"]
    assert await keys("refund:card.") == ["refund:card.2"]
