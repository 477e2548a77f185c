"""`python -m sim --seed S --ops N`: one seeded run; a failing one is shrunk and printed to replay."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sim.report import failure, summary
from sim.runner import shrink, simulate
from stripe_emulator.settings import EmulatorSettings
from stripe_emulator.testing import EmulatorServer
from tests.conftest import (
    CONNECT_WEBHOOK_SECRET,
    PLATFORM_WEBHOOK_SECRET,
    STRIPE_PUBLISHABLE_TEST_KEY,
    STRIPE_TEST_KEY,
)
from tests.mongo_server import secantus_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--seed", type=int, action="append", help="repeatable; default 1")
    parser.add_argument("--ops", type=int, default=200)
    parser.add_argument("--check-every", type=int, default=10, help="steps between checks of the books")
    parser.add_argument("--no-faults", action="store_true", help="no Stripe faults, webhooks in order")
    parser.add_argument("--no-shrink", action="store_true")
    args = parser.parse_args(argv)
    emulator_settings = EmulatorSettings(
        api_key=STRIPE_TEST_KEY,
        publishable_key=STRIPE_PUBLISHABLE_TEST_KEY,
        webhook_secret=PLATFORM_WEBHOOK_SECRET,
        connect_webhook_secret=CONNECT_WEBHOOK_SECRET,
        processing_delay_seconds=None,
    )
    failed = 0
    with secantus_server() as uri, EmulatorServer(emulator_settings) as emulator:
        for seed in args.seed or [1]:
            options = {"check_every": args.check_every, "with_faults": not args.no_faults}
            result = asyncio.run(simulate(uri, emulator, seed, args.ops, **options))
            print(summary(result), flush=True)
            if not result.ok:
                failed += 1
                if not args.no_shrink:
                    result = asyncio.run(shrink(uri, emulator, result, **options))
                print(failure(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
