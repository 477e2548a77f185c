"""Appends from several processes at once, with their sealers racing: one chain, no gap, no fork."""

import asyncio
import sys
import time
from pathlib import Path

from app.config import Settings
from app.db import Database
from app.services.audit import AuditSealer, AuditVerifier
from tests.services.audit.support import stored_chain

PROCESSES = 4
PER_PROCESS = 50
REPOSITORY = Path(__file__).resolve().parents[3]


async def test_200_concurrent_appends_from_4_processes_give_seq_1_to_200_in_one_intact_chain(
    settings: Settings, database: Database
) -> None:
    start_at = time.time() + 3  # time for every interpreter to start and connect
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.services.audit.appender",
            settings.mongodb_uri,
            settings.mongodb_database,
            f"process-{index}",
            str(PER_PROCESS),
            str(start_at),
            cwd=REPOSITORY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for index in range(PROCESSES)
    ]
    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0] * PROCESSES, [err for _, err in outputs]
    sealed_while_appending = sum(int(out) for out, _ in outputs)

    left = await AuditSealer(database, "last-pass").seal_pending()  # whatever the racing sealers left

    assert sealed_while_appending > 0, "the processes' sealers raced the appends"
    assert sealed_while_appending + (left or 0) == PROCESSES * PER_PROCESS

    chain = await stored_chain(database)
    assert [document["seq"] for document in chain] == list(range(1, PROCESSES * PER_PROCESS + 1))
    expected = {f"process-{p}-{i}" for p in range(PROCESSES) for i in range(PER_PROCESS)}
    assert {document["object"]["id"] for document in chain} == expected
    report = await AuditVerifier(database).verify()
    assert (report.intact, report.sealed, report.unsealed) == (True, PROCESSES * PER_PROCESS, 0)
