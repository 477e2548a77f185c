"""One simulated run: the seed picks every step and every fault; the books are checked every
few steps and everything at the end, once the world is quiet. A failing run names its seed and,
after shrinking by bisection, the shortest prefix of steps that fails, so it replays exactly."""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.services.checkout import run_transfer_retries
from app.services.payment_operations import run_operations_janitor
from sim import faults
from sim.delivery import Postman
from sim.invariants import check_books, check_everything
from sim.operations import choose
from sim.world import World, opened_world
from stripe_emulator.testing import EmulatorServer

Measure = Callable[[], AbstractContextManager[list[str]]]
# Share of steps run under an injected Stripe fault.
FAULT_RATE = 0.2
QUIET_ROUNDS = 3


@dataclass
class RunResult:
    seed: int
    ops: int
    steps: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    seconds_by_kind: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # Each run of a step alone (not the webhook deliveries after it): seconds, MongoDB commands.
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    commands: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    faults: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[str] = field(default_factory=Counter)
    checked: Counter[str] = field(default_factory=Counter)
    money_moved: int = 0
    failure: str | None = None
    failed_at: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


async def simulate(
    mongodb_uri: str,
    emulator: EmulatorServer,
    seed: int,
    ops: int,
    *,
    check_every: int = 10,
    with_faults: bool = True,
    measure: Measure | None = None,
) -> RunResult:
    """Run `ops` steps of seed `seed` in a fresh world; what happened, and the first broken invariant.

    `measure`, when given, opens around each step and yields the list its MongoDB commands are
    collected in (the benchmark's command monitoring)."""
    rng = random.Random(f"{seed}/world")
    result = RunResult(seed, ops)
    started = time.perf_counter()
    postman = Postman()
    async with opened_world(mongodb_uri, emulator) as world:
        try:
            for index in range(1, ops + 1):
                result.failed_at = index
                # Each step draws from its own generator, so what step n does never depends on how
                # many draws the steps before it made (their outcomes may differ under races).
                step_rng = random.Random(f"{seed}/{index}")
                await _step(world, step_rng, postman, result, with_faults=with_faults, measure=measure)
                if index % check_every == 0:
                    await check_books(world)
                    result.checked["books"] += 1
            result.failed_at = ops
            await quiesce(world, rng, postman)
            for name in await check_everything(world):
                result.checked[name] += 1
            result.money_moved = await _money_moved(world)
            result.failed_at = None
        except Exception as broken:  # any exception is a failed seed, reported with its steps
            result.failure = "".join(traceback.format_exception_only(broken)).strip()
            result.steps.append(f"  !! {traceback.format_exc(limit=-3)}")
    result.seconds = time.perf_counter() - started
    result.deliveries.update(postman.counts)
    return result


async def _step(
    world: World,
    rng: random.Random,
    postman: Postman,
    result: RunResult,
    *,
    with_faults: bool,
    measure: Measure | None,
) -> None:
    step = choose(rng)
    started = time.perf_counter()
    fault = await faults.inject(world, rng) if with_faults and rng.random() < FAULT_RATE else None
    try:
        with measure() if measure else nullcontext([]) as commands:
            alone = time.perf_counter()
            label = await step(world, rng)
            result.latencies[step.__name__].append(time.perf_counter() - alone)
        result.commands[step.__name__].append(len(commands))
    finally:
        if fault:
            await faults.clear(world)
    result.kinds[step.__name__] += 1
    if fault:
        result.faults[fault.split("*")[0]] += 1
    result.steps.append(
        f"{len(result.steps) + 1:>5} {step.__name__}: {label}" + (f"  [fault {fault}]" if fault else "")
    )
    await postman.pump(world, rng, faults=with_faults)
    result.seconds_by_kind[step.__name__] += time.perf_counter() - started


async def quiesce(world: World, rng: random.Random, postman: Postman) -> None:
    """Everything in flight finished: events delivered, unknown outcomes settled by the janitor,
    waiting transfers sent, Stripe's pending work done, until nothing more happens."""
    for _ in range(QUIET_ROUNDS):
        await postman.drain(world, rng)
        services = world.services
        await run_operations_janitor(services.database, services.payment_operations, timedelta(0))
        await run_transfer_retries(services.database, services.seller_transfers, timedelta(0))
        await world.emulator.control_async("clock/advance", seconds=0)
        await postman.drain(world, rng)


async def _money_moved(world: World) -> int:
    pipeline: list[dict[str, Any]] = [
        {"$match": {"amount": {"$gt": 0}}},
        {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
    ]
    rows = [row async for row in await world.services.database["ledger_postings"].aggregate(pipeline)]
    return int(rows[0]["total"]) if rows else 0


async def shrink(
    mongodb_uri: str, emulator: EmulatorServer, failed: RunResult, **options: bool | int
) -> RunResult:
    """The shortest prefix of the failed run's steps that still fails, by bisection on the count."""
    shortest = failed
    low, high = 0, failed.failed_at or failed.ops  # low passes (nothing run), high fails
    while high - low > 1:
        middle = (low + high) // 2
        attempt = await simulate(mongodb_uri, emulator, failed.seed, middle, **options)  # type: ignore[arg-type]
        if attempt.ok:
            low = middle
        else:
            high, shortest = middle, attempt
    return shortest
