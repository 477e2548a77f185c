"""Stripe's events reaching the service as the seed decides: in order, duplicated, reordered,
some held back for a later delivery (delayed, or delivered only after a janitor run), and
processed by either instance."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sim.world import World

# Stored events processed per pass; a pass repeats while events are still due.
PROCESS_LIMIT = 500
MAX_PASSES = 20


class Delivery(StrEnum):
    IN_ORDER = "in_order"
    DUPLICATED = "duplicated"
    REORDERED = "reordered"
    DELAYED = "delayed"


@dataclass
class Postman:
    """Takes every event the emulator made and delivers it once or more, now or later."""

    held: list[dict[str, Any]] = field(default_factory=list)
    # The newest event taken: the emulator answers only those made after it.
    last_taken: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    async def pump(self, world: World, rng: random.Random, *, faults: bool) -> None:
        mode = rng.choice(list(Delivery)) if faults else Delivery.IN_ORDER
        self.counts[mode] = self.counts.get(mode, 0) + 1
        fresh = await self._new_events(world)
        batch = [*self.held, *fresh]
        self.held = []
        if mode is Delivery.REORDERED:
            rng.shuffle(batch)
        elif mode is Delivery.DELAYED and batch:
            keep = rng.randrange(len(batch))
            self.held = [event for index, event in enumerate(batch) if index % 2 == keep % 2]
            batch = [event for event in batch if event not in self.held]
        for event in batch:
            times = 2 if mode is Delivery.DUPLICATED else 1
            for _ in range(times):
                await rng.choice(world.markets).deliver(event)
        await process(world, rng)

    async def _new_events(self, world: World) -> list[dict[str, Any]]:
        """Events the emulator made since the last look, oldest first."""
        query = {"after": self.last_taken} if self.last_taken else {}
        fresh: list[dict[str, Any]] = (await world.emulator.inspect_async("events", **query))["data"]
        if fresh:
            self.last_taken = fresh[0]["id"]
        return fresh[::-1]

    async def drain(self, world: World, rng: random.Random) -> None:
        """Everything still held delivered, in order, and processed to the end."""
        for event in [*self.held, *await self._new_events(world)]:
            await world.market.deliver(event)
        self.held = []
        await process(world, rng)


async def process(world: World, rng: random.Random) -> None:
    """Stored events processed until none is due, by one instance or the other."""
    for _ in range(MAX_PASSES):
        outcomes = await rng.choice(world.markets).services.webhook_processor.process_due(limit=PROCESS_LIMIT)
        if not outcomes:
            return
