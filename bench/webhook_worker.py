"""One webhook worker process for the throughput figures: `python -m bench.webhook_worker URI DB`.

It starts the service's own processor (its own MongoDB client, as a replica would), says `ready`,
waits for `go` on stdin, processes due events until none is left, and prints what it did as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from pymongo import monitoring

from app.container import running_services
from app.observability import configure_logging
from app.services.webhooks import drain
from bench.commands import CommandTimer
from bench.settings import bench_settings


async def work(uri: str, database: str, timer: CommandTimer) -> dict[str, object]:
    settings = bench_settings(uri, database)
    configure_logging(settings.log_level)
    async with running_services(settings) as services:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        started = time.time()
        outcomes = await drain(services.webhook_processor)
        finished = time.time()
        return {
            "events": len(outcomes),
            "started": started,
            "finished": finished,
            "command_seconds": timer.seconds,
            "command_counts": timer.counts,
            "command_failures": timer.failures,
        }


def main() -> None:
    uri, database = sys.argv[1], sys.argv[2]
    timer = CommandTimer()
    monitoring.register(timer)
    print(json.dumps(asyncio.run(work(uri, database, timer))), flush=True)


if __name__ == "__main__":
    main()
