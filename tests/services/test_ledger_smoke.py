import asyncio

from app.domain.ledger import Accounts, EntryKind, Move, entry, InsufficientFunds
from app.services.ledger import Ledger


async def test_smoke(ledger: Ledger) -> None:
    await ledger.post(entry("t1", EntryKind.TOPUP, [Move(Accounts.CARD, "buyer:a:wallet", 100, "usd")]))
    assert await ledger.balance("buyer:a:wallet", "usd") == 100

    async def spend(i: int) -> bool:
        try:
            await ledger.post(entry(f"s{i}", EntryKind.ADJUSTMENT, [Move("buyer:a:wallet", Accounts.BANK, 10, "usd")]))
            return True
        except InsufficientFunds:
            return False

    import time
    t = time.monotonic()
    results = await asyncio.gather(*(spend(i) for i in range(50)))
    print("took", time.monotonic() - t)
    assert sum(results) == 10
    assert await ledger.balance("buyer:a:wallet", "usd") == 0
