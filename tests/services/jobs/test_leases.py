import asyncio
from datetime import timedelta

from app.db import Database
from app.services.jobs import Lease


async def test_only_one_owner_holds_a_lease_at_a_time(database: Database) -> None:
    leases = [Lease(database, "job", f"runner-{i}", timedelta(seconds=30)) for i in range(10)]
    held = await asyncio.gather(*(lease.acquire() for lease in leases))
    assert sum(held) == 1
    holder = leases[held.index(True)]
    assert await holder.acquire() is True  # renewing is allowed to the holder


async def test_an_expired_or_released_lease_can_be_taken(database: Database) -> None:
    first = Lease(database, "job", "first", timedelta(milliseconds=1))
    second = Lease(database, "job", "second", timedelta(seconds=30))
    assert await first.acquire()
    await asyncio.sleep(0.01)
    assert await second.acquire()
    assert not await first.acquire()
    await second.release()
    assert await Lease(database, "job", "third", timedelta(seconds=30)).acquire()
