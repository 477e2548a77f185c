"""One of the separate processes of the checkout race tests, with its own services (its own
MongoDB and Stripe clients), doing one thing `COUNT` times at once from `START_AT`:

- `confirm`: the buyer confirms delivery of the whole order;
- `auto`: the auto-release pass, its clock past every deadline;
- `pay`: the order's PaymentIntent, read from Stripe, pays the order.

python -m tests.routers.checkout.racer URI DATABASE STRIPE_API_BASE ACTION ORDER_ID COUNT START_AT
prints a JSON list of what each call answered.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta

from app.container import Services, running_services
from app.domain.audit import Actor
from app.observability import configure_logging
from app.services.checkout import EscrowReleases
from tests.conftest import make_settings


async def act(services: Services, action: str, order_id: str) -> object:
    if action == "confirm":
        order = await services.checkout.get(order_id)
        assert order is not None
        escrows = await services.escrow_releases.confirm_delivery(
            order_id, order.buyer_id, None, Actor.user(order.buyer_id)
        )
        return [str(escrow.status) for escrow in escrows]
    if action == "auto":
        later = datetime.now(UTC) + timedelta(days=365)
        releases = EscrowReleases(
            services.database,
            services.ledger,
            services.audit_log,
            services.seller_transfers,
            services.seller_debts,
            timedelta(days=1),
            clock=lambda: later,
        )
        return dict(await releases.release_due(Actor.job("race")))
    order = await services.checkout.get(order_id)
    assert order is not None
    assert order.payment_intent_id is not None
    intent = await services.provider.retrieve_payment_intent(order.payment_intent_id)
    return await services.checkout.pay(intent, Actor.webhook("evt_race"))


async def race(
    uri: str, database: str, stripe_api_base: str, action: str, order_id: str, count: int, start_at: float
) -> list[object]:
    settings = make_settings(uri, mongodb_database=database, stripe_api_base=stripe_api_base)
    async with running_services(settings) as services:
        await asyncio.sleep(max(0.0, start_at - time.time()))  # every process starts at once
        return list(await asyncio.gather(*(act(services, action, order_id) for _ in range(count))))


def main() -> None:
    uri, database, stripe_api_base, action, order_id, count, start_at = sys.argv[1:8]
    configure_logging("WARNING")
    print(
        json.dumps(
            asyncio.run(race(uri, database, stripe_api_base, action, order_id, int(count), float(start_at)))
        )
    )


if __name__ == "__main__":
    main()
