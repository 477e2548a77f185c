"""One of the separate processes of the payout race test, with its own services (its own MongoDB
and Stripe clients), asking `COUNT` times at once from `START_AT` for a payout of the seller's
whole balance, each under its own Idempotency-Key.

python -m tests.routers.payouts.racer URI DATABASE STRIPE_API_BASE SELLER_ID COUNT START_AT
prints a JSON list of what each request answered: `paid_out` or the refusal's code.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from app.container import Services, running_services
from app.domain.audit import Actor
from app.domain.payouts import payout_id
from app.errors import ServiceError
from app.observability import configure_logging
from tests.conftest import make_settings


async def ask(services: Services, seller_id: str, key: str) -> str:
    try:
        await services.payouts.request(
            payout_id(seller_id, key), seller_id, None, "usd", Actor.user(seller_id)
        )
    except ServiceError as error:
        return error.code
    return "paid_out"


async def race(
    uri: str, database: str, stripe_api_base: str, seller_id: str, count: int, start_at: float
) -> list[str]:
    settings = make_settings(uri, mongodb_database=database, stripe_api_base=stripe_api_base)
    async with running_services(settings) as services:
        await asyncio.sleep(max(0.0, start_at - time.time()))  # every process starts at once
        keys = [f"race-{os.getpid()}-{n}" for n in range(count)]
        return list(await asyncio.gather(*(ask(services, seller_id, key) for key in keys)))


def main() -> None:
    uri, database, stripe_api_base, seller_id, count, start_at = sys.argv[1:7]
    configure_logging("WARNING")
    print(
        json.dumps(asyncio.run(race(uri, database, stripe_api_base, seller_id, int(count), float(start_at))))
    )


if __name__ == "__main__":
    main()
