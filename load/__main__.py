"""`python -m load` (`make load`): LOAD_USERS buyers (and a seller for every four of them, at least
two, and an admin) against the service under uvicorn for LOAD_SECONDS; then every invariant.
Prints requests per second and latency by route; exits 1 when an invariant breaks or the service
answered a 5xx."""

from __future__ import annotations

import asyncio
import os
import sys

from app.observability import configure_logging
from load.runner import LoadResult, run_load

DEFAULT_SECONDS = 60.0
DEFAULT_USERS = 16


def report(result: LoadResult) -> str:
    lines = [
        f"load: {result.users} buyers, {result.sellers} sellers, 1 admin for {result.seconds:.0f} s "
        f"against uvicorn with 2 worker processes",
        result.stats.table(result.seconds),
        "",
        "webhooks delivered by the emulator (duplicates and reordering on): "
        + ", ".join(f"{name} {count}" for name, count in result.deliveries.items()),
        f"settled after the load (events delivered and processed, janitor, transfers) in "
        f"{result.quiet_seconds:.1f} s; money moved {result.money_moved / 100:,.2f} usd",
        f"invariants checked: {', '.join(result.invariants) or 'none (the run stopped before)'}",
    ]
    if result.failures:
        lines += [
            "",
            f"LOAD FAILED ({len(result.failures)}):",
            *(f"  {failure}" for failure in result.failures[:20]),
        ]
    return "\n".join(lines)


def main() -> int:
    seconds = float(os.environ.get("LOAD_SECONDS", DEFAULT_SECONDS))
    users = int(os.environ.get("LOAD_USERS", DEFAULT_USERS))
    seed = int(os.environ.get("LOAD_SEED", "1"))
    configure_logging("WARNING")
    result = asyncio.run(run_load(seconds, users, seed))
    print(report(result), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
