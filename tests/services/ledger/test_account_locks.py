import asyncio

from app.services.ledger.account_locks import AccountLocks


async def test_holders_of_one_account_take_turns_and_others_do_not_wait() -> None:
    locks = AccountLocks()
    inside: set[str] = set()
    overlaps: list[tuple[str, str]] = []

    async def work(name: str, accounts: list[str]) -> None:
        async with locks.hold(accounts):
            overlaps.extend((name, other) for other in inside)
            inside.add(name)
            await asyncio.sleep(0.02)
            inside.discard(name)

    await asyncio.gather(
        work("a1", ["buyer:a", "platform:fees"]),
        work("a2", ["platform:fees", "buyer:a"]),  # the same accounts in another order: no deadlock
        work("b", ["buyer:b"]),
    )

    assert {frozenset(pair) for pair in overlaps} <= {frozenset({"a1", "b"}), frozenset({"a2", "b"})}
    assert overlaps  # b ran beside one of them


async def test_locks_are_forgotten_once_nobody_needs_them() -> None:
    locks = AccountLocks()
    await asyncio.gather(*(asyncio.create_task(_hold(locks, f"buyer:{i % 3}")) for i in range(30)))
    assert locks._locks == {}
    assert locks._holders == {}


async def _hold(locks: AccountLocks, account: str) -> None:
    async with locks.hold([account]):
        await asyncio.sleep(0)
