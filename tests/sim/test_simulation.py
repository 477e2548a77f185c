"""The seeded simulation, short: two fixed seeds with Stripe faults and unruly webhooks, every
invariant checked; and a failing run reported with its seed and its shortest failing prefix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from sim import runner
from sim.report import failure
from sim.world import World

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SEEDS = (20261127, 7)
OPS = 150


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_seeded_day_keeps_every_invariant(
    mongodb_uri: str, stripe_emulator: EmulatorServer, seed: int
) -> None:
    result = await runner.simulate(mongodb_uri, stripe_emulator, seed, OPS, check_every=25)

    assert result.ok, failure(result)
    assert sum(result.kinds.values()) == OPS
    assert result.checked["Stripe balance = ledger"] == 1
    assert result.checked["books"] == OPS // 25
    assert result.money_moved > 0


async def test_a_broken_invariant_names_the_seed_and_the_shortest_failing_prefix(
    mongodb_uri: str, stripe_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invariant that breaks once two orders exist: the shrunk run stops at the step that
    opened the second, and one step fewer passes."""

    async def broken_once_two_orders(world: World) -> list[str]:
        assert len(world.orders) < 2, "two orders"
        return ["orders"]

    monkeypatch.setattr(runner, "check_everything", broken_once_two_orders)
    failed = await runner.simulate(mongodb_uri, stripe_emulator, 3, 12, with_faults=False)
    assert not failed.ok

    shortest = await runner.shrink(mongodb_uri, stripe_emulator, failed, with_faults=False)
    assert shortest.failed_at is not None
    assert "two orders" in (shortest.failure or "")
    assert shortest.steps[shortest.failed_at - 1].split(": ", 1)[1].startswith("checkout")
    one_fewer = await runner.simulate(
        mongodb_uri, stripe_emulator, 3, shortest.failed_at - 1, with_faults=False
    )
    assert one_fewer.ok
    assert f"--seed 3 --ops {shortest.failed_at}" in failure(shortest)
