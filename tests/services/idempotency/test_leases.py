"""The in-flight lease of an Idempotency-Key: owned by one run, renewed while it runs, and
taken over only once it has really expired."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from app.db import Database
from app.services.idempotency import IdempotencyStore, IdempotentRequestInFlight

TTL = timedelta(hours=1)
SHORT_LEASE = timedelta(seconds=0.5)
# A runner that cannot renew (paused, cut off from the database) is one that renews too late.
STALLED = timedelta(hours=1)


def stalled_store(database: Database) -> IdempotencyStore:
    return IdempotencyStore(database, TTL, lease=SHORT_LEASE, renew_every=STALLED)


def answering(answer: str, until: asyncio.Event | None = None, error: Exception | None = None) -> Any:
    async def operation() -> tuple[int, Any]:
        if until is not None:
            await until.wait()
        if error is not None:
            raise error
        return 201, {"answer": answer}

    return operation


async def test_a_running_request_keeps_its_key_past_the_lease_by_renewing_it(database: Database) -> None:
    store = IdempotencyStore(database, TTL, lease=SHORT_LEASE, renew_every=SHORT_LEASE / 5)
    finish = asyncio.Event()
    first = asyncio.create_task(store.run("u", "k", "fp", answering("first", finish)))

    await asyncio.sleep(SHORT_LEASE.total_seconds() * 3)
    with pytest.raises(IdempotentRequestInFlight):
        await store.run("u", "k", "fp", answering("second"))
    finish.set()

    assert (await first).body == {"answer": "first"}
    replay = await store.run("u", "k", "fp", answering("third"))
    assert (replay.body, replay.replayed) == ({"answer": "first"}, True)


async def test_after_a_real_expiry_the_new_runner_owns_the_key_and_the_old_one_cannot_free_it(
    database: Database,
) -> None:
    old, new = stalled_store(database), IdempotencyStore(database, TTL)
    old_may_fail, new_may_finish = asyncio.Event(), asyncio.Event()
    stalled = asyncio.create_task(
        old.run("u", "k", "fp", answering("old", old_may_fail, RuntimeError("connection lost")))
    )
    await asyncio.sleep(SHORT_LEASE.total_seconds() * 1.5)  # the old runner's lease lapses for real

    taken_over = asyncio.create_task(new.run("u", "k", "fp", answering("new", new_may_finish)))
    await asyncio.sleep(0.2)
    old_may_fail.set()
    with pytest.raises(RuntimeError):
        await stalled
    with pytest.raises(IdempotentRequestInFlight):  # the failed old runner released nothing of the new one's
        await new.run("u", "k", "fp", answering("third"))
    new_may_finish.set()

    assert (await taken_over).body == {"answer": "new"}
    replay = await new.run("u", "k", "fp", answering("fourth"))
    assert (replay.body, replay.replayed) == ({"answer": "new"}, True)


async def test_an_old_runner_finishing_after_a_takeover_does_not_overwrite_the_answer(
    database: Database,
) -> None:
    old, new = stalled_store(database), IdempotencyStore(database, TTL)
    old_may_finish = asyncio.Event()
    stalled = asyncio.create_task(old.run("u", "k", "fp", answering("old", old_may_finish)))
    await asyncio.sleep(SHORT_LEASE.total_seconds() * 1.5)

    taken_over = await new.run("u", "k", "fp", answering("new"))
    old_may_finish.set()
    await stalled

    assert taken_over.body == {"answer": "new"}
    replay = await new.run("u", "k", "fp", answering("again"))
    assert (replay.body, replay.replayed) == ({"answer": "new"}, True)
