"""`python -m migrations.make_legacy_fixture --wallets N`: write synthetic legacy wallets (and
their marketplace users) into the configured database, for a rehearsal or a benchmark.

The wallets go to LEGACY_WALLET_DATABASE (default MONGODB_DATABASE), collection
LEGACY_WALLET_COLLECTION; the users to USERS_DATABASE (default MONGODB_DATABASE), collection
USERS_COLLECTION, their id in `_id` (USERS_ID_FIELD's default). What they are is described in
`migrations/legacy_fixture.py`; `--manifest` writes what the migration must make of each.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pymongo.asynchronous.collection import AsyncCollection

from app.cli import load_settings
from app.config import Settings
from app.db import Document, connect
from migrations.legacy_fixture import FixtureSummary, FixtureWallet, legacy_wallets

CHUNK = 1000

cli = typer.Typer(add_completion=False)


async def write_fixture(
    settings: Settings, *, wallets: int, bad_share: float, seed: int, manifest: Path | None = None
) -> FixtureSummary:
    """Insert the wallets and users a chunk at a time; memory does not grow with `wallets`."""
    db = connect(settings.mongodb_uri, settings.mongodb_database)
    legacy = db.client[settings.legacy_wallet_database or settings.mongodb_database][
        settings.legacy_wallet_collection
    ]
    marketplace_users = db.client[settings.users_database or settings.mongodb_database][
        settings.users_collection
    ]
    summary = FixtureSummary()
    documents: list[Document] = []
    users: list[Document] = []
    out = manifest.open("w") if manifest else None
    try:
        for wallet in legacy_wallets(wallets, bad_share=bad_share, seed=seed):
            summary.add(wallet)
            documents.extend(wallet.documents)
            if wallet.user is not None:
                users.append(wallet.user)
            if out is not None:
                out.write(json.dumps(_manifest_line(wallet)) + "\n")
            if len(documents) >= CHUNK:
                await _flush(legacy, marketplace_users, documents, users)
        await _flush(legacy, marketplace_users, documents, users)
    finally:
        if out is not None:
            out.close()
        await db.close()
    return summary


async def _flush(
    legacy: AsyncCollection[Document],
    users_collection: AsyncCollection[Document],
    documents: list[Document],
    users: list[Document],
) -> None:
    if documents:
        await legacy.insert_many(documents)
    if users:
        await users_collection.insert_many(users)
    documents.clear()
    users.clear()


def _manifest_line(wallet: FixtureWallet) -> dict[str, Any]:
    return {
        "user_id": wallet.user_id,
        "documents": len(wallet.documents),
        "reason": wallet.reason.value if wallet.reason else None,
        "minor_units": wallet.minor_units,
        "normalized": wallet.normalized,
    }


@cli.command()
def main(
    wallets: Annotated[int, typer.Option(min=1, help="How many users' legacy wallets")],
    bad_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of bad wallets, every kind in turn")
    ] = 0.05,
    seed: Annotated[int, typer.Option(help="The same seed writes the same wallets")] = 1,
    manifest: Annotated[
        Path | None, typer.Option(help="Write what the migration must make of each (JSON lines)")
    ] = None,
) -> None:
    """Write synthetic legacy wallets and their users into the configured database."""
    summary = asyncio.run(
        write_fixture(load_settings(), wallets=wallets, bad_share=bad_share, seed=seed, manifest=manifest)
    )
    rejected = ", ".join(f"{reason} {count}" for reason, count in sorted(summary.rejected.items()))
    typer.echo(
        f"wrote {summary.documents} legacy wallets of {summary.wallets} users: {summary.migrated} to migrate "
        f"({summary.migrated_minor_units} minor units, {summary.normalized} with float noise), "
        f"{sum(summary.rejected.values())} to reject" + (f" ({rejected})" if rejected else "")
    )


if __name__ == "__main__":
    cli()
