"""The service as production runs it (uvicorn, two worker processes, over HTTP) beside the raw
database at the same concurrency, measured in the same run:

- webhook intake (`POST /webhooks/stripe`: signature checked, event stored) ÷ raw `insert_one`
  of the same documents (those the intake stored, under new ids, into the same collection);
- `GET /wallet` ÷ the raw reads it makes: the very commands it sends, captured by command
  monitoring from the service in process and sent again by a bare client.

The service's background work (webhook worker, periodic jobs) is off, so it does only what is
measured. `CONCURRENCY` requests are in flight at once on both sides.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import stripe

from app.auth import Role, mint_token
from app.container import Services
from app.db import Collections
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.main import create_app
from bench.commands import CommandCounter
from bench.events import succeeded_event, topup_intent
from load.stack import running_stack

Report = Callable[[str, float, str], None]
CONCURRENCY = 16
INTAKE_EVENTS = 600
WALLET_READS = 600
GOAL_PERCENT = 50
# Sent by the driver with each command, not part of what is asked.
SESSION_FIELDS = frozenset({"lsid", "$db", "$clusterTime", "$readPreference", "txnNumber"})


async def at_once(count: int, call: Callable[[int], Awaitable[object]]) -> float:
    """`count` calls, `CONCURRENCY` in flight at any time; their rate per second."""
    queue = iter(range(count))

    async def worker() -> None:
        for index in queue:
            await call(index)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)


def compare(name: str, served: float, raw: float, unit: str, report: Report) -> None:
    report(f"{name} through uvicorn (2 workers), {CONCURRENCY} at once", served, unit)
    share = 100 * served / raw
    verdict = "met" if share >= GOAL_PERCENT else "MISSED"
    report(f"  / the raw database, same run (goal >= {GOAL_PERCENT}: {verdict})", share, "%")


async def webhook_intake(served: httpx.AsyncClient, services: Services, report: Report) -> None:
    secret = services.settings.stripe_webhook_secret.get_secret_value()
    payloads = [
        succeeded_event(topup_intent(f"tu_{uuid.uuid4().hex[:24]}", f"buyer-{index}", 100))
        for index in range(INTAKE_EVENTS)
    ]

    async def deliver(index: int) -> None:
        payload = payloads[index]
        headers = {
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(payload, secret),
            "Content-Type": "application/json",
        }
        answer = await served.post("/webhooks/stripe", content=payload, headers=headers)
        assert answer.status_code == 200, answer.text

    served_rate = await at_once(INTAKE_EVENTS, deliver)
    events = services.database[Collections.WEBHOOK_EVENTS]
    ids = [json.loads(payload)["id"] for payload in payloads]
    stored = [document async for document in events.find({"_id": {"$in": ids}})]
    assert len(stored) == INTAKE_EVENTS
    copies = [{**document, "_id": f"{document['_id']}_raw"} for document in stored]

    async def insert(index: int) -> None:
        await events.insert_one(copies[index])

    raw_rate = await at_once(INTAKE_EVENTS, insert)
    report(f"raw insert_one of the same documents, {CONCURRENCY} at once", raw_rate, "documents/s")
    compare("webhook intake", served_rate, raw_rate, "events/s", report)


async def wallet_reads(
    served: httpx.AsyncClient,
    in_process: httpx.AsyncClient,
    services: Services,
    counter: CommandCounter,
    report: Report,
) -> None:
    buyer = "bench-served"
    credit = Move(Accounts.CARD, Accounts.buyer_wallet(buyer), 5000, "usd")
    await services.ledger.post(entry(f"served-fund:{buyer}", EntryKind.TOPUP, [credit]))
    headers = {"Authorization": f"Bearer {mint_token(services.settings, buyer, [Role.BUYER])}"}
    for _ in range(2):  # warm: the flags and the legacy wallet's answer are cached after the first
        await in_process.get("/wallet", headers=headers)
    with counter.captured() as documents:
        assert (await in_process.get("/wallet", headers=headers)).status_code == 200
    reads = [{k: v for k, v in document.items() if k not in SESSION_FIELDS} for document in documents]

    async def read(index: int) -> None:
        answer = await served.get("/wallet", headers=headers)
        assert answer.status_code == 200, answer.text

    async def read_raw(index: int) -> None:
        for command in reads:
            await services.database.db.command(command)

    served_rate = await at_once(WALLET_READS, read)
    raw_rate = await at_once(WALLET_READS, read_raw)
    names = ", ".join(str(next(iter(command))) for command in reads)
    report(f"raw reads of GET /wallet ({names}), {CONCURRENCY} at once", raw_rate, "sets/s")
    compare("GET /wallet", served_rate, raw_rate, "requests/s", report)


async def run(uri: str, counter: CommandCounter, report: Report) -> None:
    quiet = {"WEBHOOK_WORKER_ENABLED": "false", "JOBS_ENABLED": "false"}
    with running_stack(uri, quiet) as stack:
        app = create_app(stack.settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(base_url=stack.api_url, timeout=60) as served,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as in_process,
        ):
            services: Services = app.state.services
            try:
                await webhook_intake(served, services, report)
                await wallet_reads(served, in_process, services, counter, report)
            finally:
                await services.database.client.drop_database(stack.settings.mongodb_database)


def main() -> None:
    """This benchmark alone: `python -m bench.served`."""
    from app.observability import configure_logging
    from bench.__main__ import report
    from bench.commands import install
    from tests.mongo_server import secantus_server

    configure_logging("ERROR")
    counter = install()
    with secantus_server() as uri:
        asyncio.run(run(uri, counter, report))


if __name__ == "__main__":
    main()
