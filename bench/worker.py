"""One worker process for the throughput figures:
`python -m bench.worker webhooks|ledger URI DB [COUNT [STRIPE_API_BASE]]`.

It starts the service's own services (its own MongoDB client, as a replica would), says `ready`,
waits for `go` on stdin, then either processes due webhook events until none is left
(`webhooks`) or posts COUNT card credits one after the other (`ledger`, the raw baseline), and
prints what it did as JSON: its outcomes, the time its commands waited on MongoDB and the commands
the server refused (write conflicts).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from pymongo import monitoring

from app.container import Services, running_services
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.observability import configure_logging
from app.services.webhooks import drain
from bench.commands import CommandTimer
from bench.settings import bench_settings


async def process_webhooks(services: Services, count: int) -> Counter[str]:
    """Due events processed until none is left; how many came to each outcome."""
    return Counter(str(outcome.outcome) for outcome in await drain(services.webhook_processor))


async def post_credits(services: Services, count: int) -> Counter[str]:
    run = uuid.uuid4().hex[:8]
    for index in range(count):
        credit = Move(Accounts.CARD, Accounts.buyer_wallet(f"raw-{run}-{index}"), 100, "usd")
        await services.ledger.post(entry(f"raw:{run}:{index}", EntryKind.TOPUP, [credit]))
    return Counter(posted=count)


JOBS: dict[str, Callable[[Services, int], Awaitable[Counter[str]]]] = {
    "webhooks": process_webhooks,
    "ledger": post_credits,
}


async def work(
    job: str, uri: str, database: str, count: int, stripe_api_base: str, timer: CommandTimer
) -> dict[str, object]:
    settings = (
        bench_settings(uri, database, stripe_api_base) if stripe_api_base else bench_settings(uri, database)
    )
    configure_logging(settings.log_level)
    async with running_services(settings) as services:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        timer.seconds.clear()
        timer.failures.clear()
        started, cpu = time.time(), time.process_time()
        outcomes = await JOBS[job](services, count)
        finished, cpu = time.time(), time.process_time() - cpu
        return {
            "done": sum(outcomes.values()),
            "outcomes": outcomes,
            "failed_commands": timer.failures,
            "started": started,
            "finished": finished,
            "cpu_seconds": cpu,
            "command_seconds": timer.seconds,
        }


def main() -> None:
    job, uri, database = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    stripe_api_base = sys.argv[5] if len(sys.argv) > 5 else ""
    timer = CommandTimer()
    monitoring.register(timer)
    print(json.dumps(asyncio.run(work(job, uri, database, count, stripe_api_base, timer))), flush=True)


if __name__ == "__main__":
    main()
