"""One of the separate processes of the concurrency test: asks for onboarding links for one
seller, all at once, through its own services (its own MongoDB and Stripe clients).

python -m tests.services.onboarding.link_requester URI DATABASE STRIPE_API_BASE SELLER COUNT START_AT
prints a JSON list of [account_id, url], one per link.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from app.container import running_services
from app.domain.audit import Actor
from app.observability import configure_logging
from tests.conftest import make_settings


async def request_links(
    uri: str, database: str, stripe_api_base: str, seller_id: str, count: int, start_at: float
) -> list[list[str]]:
    settings = make_settings(uri, mongodb_database=database, stripe_api_base=stripe_api_base)
    async with running_services(settings) as services:
        await asyncio.sleep(max(0.0, start_at - time.time()))  # every process starts at once
        links = await asyncio.gather(
            *(services.onboarding.onboarding_link(seller_id, Actor.user(seller_id)) for _ in range(count))
        )
    return [[link.account_id, link.url] for link in links]


def main() -> None:
    uri, database, stripe_api_base, seller_id, count, start_at = sys.argv[1:7]
    configure_logging("WARNING")
    links = asyncio.run(request_links(uri, database, stripe_api_base, seller_id, int(count), float(start_at)))
    print(json.dumps(links))


if __name__ == "__main__":
    main()
