"""`python -m stripe_emulator [--host 127.0.0.1] [--port 12111]`; settings from the environment."""

from __future__ import annotations

import argparse

import uvicorn

from stripe_emulator.api import hide_dropped_responses
from stripe_emulator.app import create_app
from stripe_emulator.settings import EmulatorSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    args = parser.parse_args(argv)
    hide_dropped_responses()
    uvicorn.run(create_app(EmulatorSettings.from_env()), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
