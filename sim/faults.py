"""Stripe misbehaving as the seed decides, through the emulator's fault control: the next call to
one of the money-moving endpoints times out, answers 5xx, 429 or 409 `idempotency_key_in_use`, or
does the work and drops the response. Faults left unused by a step are cleared after it, so a
step's faults never leak into the next."""

from __future__ import annotations

import random
from enum import StrEnum
from typing import Any

from sim.world import World

# The creations the issue names: PaymentIntents, transfers (and their reversals), refunds, payouts.
STRIPE_PATHS = ("/v1/payment_intents", "/v1/transfers", "/v1/refunds", "/v1/payouts")
# Longer than the service's Stripe timeout (sim settings: 1 s), so the call times out.
TIMEOUT_DELAY_SECONDS = 1.2


class StripeFault(StrEnum):
    SERVER_ERROR = "5xx"
    RATE_LIMITED = "429"
    KEY_IN_USE = "409_idempotency_key_in_use"
    RESPONSE_DROPPED = "response_dropped"
    TIMEOUT = "timeout"


def _options(fault: StripeFault, rng: random.Random) -> dict[str, Any]:
    match fault:
        case StripeFault.SERVER_ERROR:
            return {"status": rng.choice([500, 502, 503])}
        case StripeFault.RATE_LIMITED:
            return {"status": 429}
        case StripeFault.KEY_IN_USE:
            return {"status": 409, "code": "idempotency_key_in_use"}
        case StripeFault.RESPONSE_DROPPED:
            return {"drop_response": True}
        case StripeFault.TIMEOUT:
            return {"delay_seconds": TIMEOUT_DELAY_SECONDS}


async def inject(world: World, rng: random.Random) -> str:
    """One fault on the next POST to one of the Stripe paths; what was injected."""
    fault = rng.choice([f for f in StripeFault if f is not StripeFault.TIMEOUT or rng.random() < 0.3])
    path = rng.choice(STRIPE_PATHS)
    count = rng.choice([1, 1, 2, 3])
    await world.emulator.control_async(
        "faults", path_prefix=path, method="POST", count=count, **_options(fault, rng)
    )
    return f"{fault}*{count} {path}"


async def clear(world: World) -> None:
    await world.emulator.clear_faults_async()
