"""The service as production runs it (uvicorn, two worker processes, over HTTP) beside the raw
database at the same concurrency, measured in the same run:

- webhook intake (`POST /webhooks/stripe`: signature checked, event stored) ÷ raw `insert_one`
  of the same documents (those the intake stored, under new ids, into the same collection);
- `GET /wallet` ÷ the raw reads it makes: the very commands it sends, captured by command
  monitoring from the service in process and sent again by a bare client, together as the
  route sends them.

The raw side's client publishes no command events (`bench.commands.unmonitored`), as the
service's processes publish none.

Both sides make `OPERATIONS` operations, `CONCURRENCY` in flight at once, after `WARM_UP` that
are not timed, in alternating blocks (`side_by_side`). The service's background work (webhook
worker, periodic jobs) is off, so it does only what is measured.

Beside each ratio: the MongoDB commands of one operation on each side, and where the CPU of one
operation goes (`bench.cpu_split`): the service's processes (uvicorn's HTTP server, the
application, its MongoDB driver), the database server, and this process, the load driver.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import stripe
import uvloop
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from app.auth import Role, mint_token
from app.container import Services
from app.db import Collections, Document
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.main import create_app
from bench.commands import CommandCounter, unmonitored
from bench.cpu_split import CpuMeter, Measured, ServedSplit, Tally, call_asgi
from bench.events import succeeded_event, topup_intent
from bench.lean_http import LeanClient
from load.stack import API_WORKERS, running_stack

Report = Callable[[str, float, str], None]
Call = Callable[[int], Awaitable[object]]
CONCURRENCY = 16
OPERATIONS = 1200
WARM_UP = 60
ROUNDS = 8
GOAL_PERCENT = 50
# Sent by the driver with each command, not part of what is asked.
SESSION_FIELDS = frozenset({"lsid", "$db", "$clusterTime", "$readPreference", "txnNumber"})


async def at_once(indexes: range, call: Call) -> None:
    """`call(i)` for each index, `CONCURRENCY` in flight at any time."""
    queue = iter(indexes)

    async def worker() -> None:
        for index in queue:
            await call(index)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def alone(meter: CpuMeter, call: Call) -> Measured:
    """`OPERATIONS` calls after `WARM_UP` untimed ones (indexes 0..WARM_UP-1 warm up)."""
    await at_once(range(WARM_UP), call)
    tally = Tally()
    async with meter.counting(tally, OPERATIONS):
        await at_once(range(WARM_UP, WARM_UP + OPERATIONS), call)
    return tally.measured()


async def side_by_side(meter: CpuMeter, served: Call, raw: Call) -> tuple[Measured, Measured]:
    """Each side warmed up, then `OPERATIONS` each in `ROUNDS` alternating blocks (served first,
    then raw first), so a change in the machine's other load meanwhile falls on both alike."""
    await at_once(range(WARM_UP), served)
    await at_once(range(WARM_UP), raw)
    tallies = {served: Tally(), raw: Tally()}
    size = OPERATIONS // ROUNDS
    for round_ in range(ROUNDS):
        indexes = range(WARM_UP + round_ * size, WARM_UP + (round_ + 1) * size)
        for call in (served, raw) if round_ % 2 == 0 else (raw, served):
            async with meter.counting(tallies[call], len(indexes)):
                await at_once(indexes, call)
    return tallies[served].measured(), tallies[raw].measured()


@dataclass(frozen=True)
class Sides:
    """What a comparison drives: the service over HTTP, the raw database, the application in
    process (for its commands and its CPU alone), and the meters."""

    served: LeanClient
    raw: AsyncDatabase[Document]
    app: FastAPI
    meter: CpuMeter
    counter: CommandCounter


@dataclass(frozen=True)
class Comparison:
    name: str
    unit: str
    raw_label: str
    served: Measured
    raw: Measured
    served_commands: list[str]
    raw_commands: list[str]
    # CPU ms of one operation in the application alone (ASGI in this process, no HTTP server).
    application_ms: float


def compare(result: Comparison, report: Report) -> None:
    report(f"{result.raw_label}, {CONCURRENCY} at once", result.raw.per_second, "sets/s")
    report(
        f"{result.name} through uvicorn ({API_WORKERS} workers), {CONCURRENCY} at once",
        result.served.per_second,
        result.unit,
    )
    share = 100 * result.served.per_second / result.raw.per_second
    verdict = "met" if share >= GOAL_PERCENT else "MISSED"
    report(f"  / the raw database, same run (goal >= {GOAL_PERCENT}: {verdict})", share, "%")
    print(f"{'':<4}MongoDB commands per operation: served {len(result.served_commands)} ", end="")
    print(f"({', '.join(result.served_commands)}), raw {len(result.raw_commands)}")
    split = ServedSplit.of(result.served.cpu_ms, result.raw.cpu_ms, result.application_ms)
    for line in split.lines():
        print(f"{'':<4}{line}")


def signed(payload: str, secret: str) -> dict[str, str]:
    return {
        "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(payload, secret),
        "Content-Type": "application/json",
    }


async def webhook_intake(sides: Sides) -> Comparison:
    served, raw_database, app, meter, counter = sides.served, sides.raw, sides.app, sides.meter, sides.counter
    services: Services = app.state.services
    secret = services.settings.stripe_webhook_secret.get_secret_value()
    count = WARM_UP + OPERATIONS

    def events(tag: str) -> list[tuple[str, dict[str, str]]]:
        # Signed beforehand: signing is Stripe's work, not the service's nor the driver's.
        payloads = [
            succeeded_event(topup_intent(f"tu_{uuid.uuid4().hex[:24]}", f"buyer-{tag}{index}", 100))
            for index in range(count + 1)
        ]
        return [(payload, signed(payload, secret)) for payload in payloads]

    deliveries, in_process = events("served-"), events("asgi-")

    async def deliver(index: int) -> None:
        payload, headers = deliveries[index]
        answer = await served.post("/webhooks/stripe", payload.encode(), headers)
        assert answer.status == 200, answer.text

    async def deliver_in_process(index: int) -> None:
        payload, headers = in_process[index]
        status = await call_asgi(app, "POST", "/webhooks/stripe", headers, payload.encode())
        assert status == 200, status

    with counter.counted() as served_commands:
        await deliver_in_process(count)
    application = await alone(meter.in_process(), deliver_in_process)

    # The raw side inserts what the intake stored, under new ids, into the same collection.
    events_collection = services.database[Collections.WEBHOOK_EVENTS]
    ids = [json.loads(payload)["id"] for payload, _ in in_process]
    stored = [document async for document in events_collection.find({"_id": {"$in": ids}})]
    assert len(stored) == count + 1
    copies = [{**document, "_id": f"{document['_id']}_raw"} for document in stored]

    async def insert(index: int) -> None:
        await raw_database[Collections.WEBHOOK_EVENTS].insert_one(copies[index])

    with counter.counted() as raw_commands:
        await events_collection.insert_one(copies[count])
    served_run, raw_run = await side_by_side(meter, deliver, insert)
    return Comparison(
        "webhook intake",
        "events/s",
        "raw insert_one of the same documents",
        served_run,
        raw_run,
        served_commands,
        raw_commands,
        application.cpu_ms[CpuMeter.DRIVER],
    )


async def wallet_reads(sides: Sides) -> Comparison:
    served, raw_database, app, meter, counter = sides.served, sides.raw, sides.app, sides.meter, sides.counter
    services: Services = app.state.services
    buyer = "bench-served"
    credit = Move(Accounts.CARD, Accounts.buyer_wallet(buyer), 5000, "usd")
    await services.ledger.post(entry(f"served-fund:{buyer}", EntryKind.TOPUP, [credit]))
    headers = {"Authorization": f"Bearer {mint_token(services.settings, buyer, [Role.BUYER])}"}

    async def read_in_process(index: int) -> None:
        assert await call_asgi(app, "GET", "/wallet", headers) == 200

    for index in range(2):  # warm: the flags and the legacy wallet's answer are cached after the first
        await read_in_process(index)
    with counter.captured() as documents, counter.counted() as served_commands:
        await read_in_process(0)
    reads = [{k: v for k, v in document.items() if k not in SESSION_FIELDS} for document in documents]
    application = await alone(meter.in_process(), read_in_process)

    async def read(index: int) -> None:
        answer = await served.get("/wallet", headers)
        assert answer.status == 200, answer.text

    async def send(database: AsyncDatabase[Document]) -> None:
        # Together, as the route sends them (they do not depend on each other).
        await asyncio.gather(*(database.command(command) for command in reads))

    async def read_raw(index: int) -> None:
        await send(raw_database)

    with counter.counted() as raw_commands:
        await send(services.database.db)
    served_run, raw_run = await side_by_side(meter, read, read_raw)
    return Comparison(
        "GET /wallet",
        "requests/s",
        f"raw reads of GET /wallet ({', '.join(command_names(reads))})",
        served_run,
        raw_run,
        served_commands,
        raw_commands,
        application.cpu_ms[CpuMeter.DRIVER],
    )


def command_names(commands: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(next(iter(command))) for command in commands]


async def run(uri: str, counter: CommandCounter, report: Report) -> None:
    quiet = {"WEBHOOK_WORKER_ENABLED": "false", "JOBS_ENABLED": "false"}
    with running_stack(uri, quiet) as stack:
        app = create_app(stack.settings)
        with unmonitored():
            raw_client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
        async with (
            app.router.lifespan_context(app),
            LeanClient(stack.api_url) as served,
            raw_client,
        ):
            services: Services = app.state.services
            raw = raw_client[stack.settings.mongodb_database]
            sides = Sides(served, raw, app, CpuMeter.of_this_run(), counter)
            try:
                compare(await webhook_intake(sides), report)
                compare(await wallet_reads(sides), report)
            finally:
                await services.database.client.drop_database(stack.settings.mongodb_database)


def measure(uri: str, counter: CommandCounter, report: Report) -> None:
    """On uvloop, the service's loop, so the raw driver and the application measured in process
    run as they do in the service."""
    uvloop.run(run(uri, counter, report))


def main() -> None:
    """This benchmark alone: `python -m bench.served`."""
    from app.observability import configure_logging
    from bench.__main__ import report
    from bench.commands import install
    from tests.mongo_server import secantus_server

    configure_logging("ERROR")
    counter = install()
    with secantus_server() as uri:
        measure(uri, counter, report)


if __name__ == "__main__":
    main()
