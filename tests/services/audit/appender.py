"""One of the separate processes of the concurrency test: appends audit records, each in its own
transaction, while its own sealer races the other processes' sealers.

python -m tests.services.audit.appender URI DATABASE NAME COUNT START_AT
prints how many records its sealer sealed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta

from app.db import connect
from app.domain.audit import Actor
from app.observability import configure_logging
from app.services.audit import AuditLog, AuditSealer
from tests.services.audit.support import record_change


async def append(uri: str, database_name: str, name: str, count: int, start_at: float) -> int:
    database = connect(uri, database_name)
    audit = AuditLog(database)
    # A lease that lapses at once, so every process's sealer runs whenever it asks.
    sealer = AuditSealer(database, name, batch_size=16, lease_ttl=timedelta(0))
    appended = asyncio.Event()

    async def keep_sealing() -> int:
        sealed = 0
        while not appended.is_set():
            sealed += await sealer.seal_pending() or 0
            await asyncio.sleep(0.005)
        return sealed

    await asyncio.sleep(max(0.0, start_at - time.time()))  # every process starts at once
    sealing = asyncio.create_task(keep_sealing())
    try:
        await asyncio.gather(
            *(
                record_change(database, audit, f"{name}-{index}", actor=Actor.job(name))
                for index in range(count)
            )
        )
    finally:
        appended.set()
        sealed = await sealing
        await database.close()
    return sealed


def main() -> None:
    uri, database_name, name, count, start_at = sys.argv[1:6]
    configure_logging("WARNING")
    print(asyncio.run(append(uri, database_name, name, int(count), float(start_at))))


if __name__ == "__main__":
    main()
