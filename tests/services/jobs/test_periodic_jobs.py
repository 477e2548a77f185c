import asyncio

from app.services.jobs import PeriodicJob, periodic_jobs


async def test_a_job_runs_repeatedly_survives_its_failures_and_stops_with_the_block() -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("one bad pass")

    async with periodic_jobs([PeriodicJob("flaky", 0.01, flaky)]):
        for _ in range(200):
            if len(runs) >= 4:
                break
            await asyncio.sleep(0.01)
    stopped_at = len(runs)
    await asyncio.sleep(0.05)

    assert stopped_at >= 4
    assert len(runs) == stopped_at
