"""Load and cost of the simulated marketplace: the seeded simulation run without faults, each
operation's MongoDB commands (median, from command monitoring) and p50/p99 latency, printed beside
the raw-database baselines of the checkout and payout benchmarks (`raw_order`, `raw_payout`)
measured in the same run. An operation here is the whole step (a checkout includes its payment at
the emulator; webhook processing after it is not counted)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable

from app.container import Services
from bench.checkout import raw_order
from bench.commands import CommandCounter
from bench.payouts import raw_payout
from sim.runner import simulate
from stripe_emulator.testing import EmulatorServer

SEED = 20261127
OPS = int(os.environ.get("BENCH_SIM_OPS", "300"))
BASELINE_RUNS = 50


def _row(name: str, runs: int, commands: list[int], latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"  {name:<50} {runs:>5} {statistics.median(commands):>9.0f} "
        f"{statistics.median(ordered) * 1000:>9.1f} {p99 * 1000:>9.1f}",
        flush=True,
    )


async def _baseline(
    counter: CommandCounter, operation: Callable[[int], Awaitable[None]]
) -> tuple[list[int], list[float]]:
    commands, latencies = [], []
    for index in range(BASELINE_RUNS):
        with counter.counted() as sent:
            started = time.perf_counter()
            await operation(index)
            latencies.append(time.perf_counter() - started)
        commands.append(len(sent))
    return commands, latencies


async def run(uri: str, services: Services, emulator: EmulatorServer, counter: CommandCounter) -> None:
    order_baseline = await _baseline(counter, lambda i: raw_order(services, i))
    payout_baseline = await _baseline(counter, lambda i: raw_payout(services, i))
    result = await simulate(uri, emulator, SEED, OPS, with_faults=False, measure=counter.counted)
    assert result.ok, result.failure
    print(f"simulated marketplace, seed {SEED}, {OPS} operations ({result.seconds:.1f} s, invariants held):")
    print(f"  {'operation':<50} {'runs':>5} {'commands':>9} {'p50 ms':>9} {'p99 ms':>9}")
    for name in sorted(result.kinds):
        _row(name, result.kinds[name], result.commands[name], result.latencies[name])
    _row("raw baseline: order + 2 escrows in a transaction", BASELINE_RUNS, *order_baseline)
    _row("raw baseline: payout inserted and updated", BASELINE_RUNS, *payout_baseline)
