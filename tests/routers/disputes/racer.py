"""One of the separate processes of the refund race tests, with its own services (its own MongoDB
and Stripe clients), doing one thing `COUNT` times at once from `START_AT`:

- `refund`: an admin refunds all of seller SELLER's part of ORDER_ID (each call its own refund);
- `release`: the buyer confirms delivery of that part.

python -m tests.routers.disputes.racer URI DATABASE STRIPE_API_BASE ACTION ORDER_ID SELLER COUNT START_AT
prints a JSON list of what each call ended with (a status, or a problem's code).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

from app.container import Services, running_services
from app.domain.audit import Actor, ActorKind
from app.domain.refunds import DEFAULT_SOURCE_ORDER
from app.errors import ServiceError
from app.observability import configure_logging
from tests.conftest import make_settings


async def act(services: Services, action: str, order_id: str, seller_id: str) -> str:
    try:
        if action == "refund":
            refund = await services.refunds.refund_order(
                order_id,
                seller_id,
                None,
                DEFAULT_SOURCE_ORDER,
                "race",
                f"rf_race_{uuid.uuid4().hex}",
                Actor(ActorKind.ADMIN, "admin-race"),
            )
            return str(refund.status)
        order = await services.checkout.get(order_id)
        assert order is not None
        (escrow,) = await services.escrow_releases.confirm_delivery(
            order_id, order.buyer_id, seller_id, Actor.user(order.buyer_id)
        )
        return str(escrow.status)
    except ServiceError as error:
        return error.code


async def race(
    uri: str,
    database: str,
    base: str,
    action: str,
    order_id: str,
    seller_id: str,
    count: int,
    start_at: float,
) -> list[str]:
    settings = make_settings(uri, mongodb_database=database, stripe_api_base=base)
    async with running_services(settings) as services:
        await asyncio.sleep(max(0.0, start_at - time.time()))  # every process starts at once
        return list(await asyncio.gather(*(act(services, action, order_id, seller_id) for _ in range(count))))


def main() -> None:
    uri, database, base, action, order_id, seller_id, count, start_at = sys.argv[1:9]
    configure_logging("WARNING")
    print(
        json.dumps(
            asyncio.run(race(uri, database, base, action, order_id, seller_id, int(count), float(start_at)))
        )
    )


if __name__ == "__main__":
    main()
