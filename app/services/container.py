"""Every service of a process, built once from the database, the settings and the provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from app.adapters.legacy_wallet_bridge import LegacyWalletBridge
from app.adapters.payment_provider import PaymentProvider
from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.db import Database, connect, ensure_indexes, require_transaction_support
from app.services.idempotency import IdempotencyStore
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration
from app.services.payment_operations import PaymentOperations
from app.services.wallet.balances import WalletFunds
from app.services.wallet.summary import WalletView
from app.services.wallet.topups import Topups


@dataclass(frozen=True)
class Services:
    database: Database
    settings: Settings
    provider: PaymentProvider
    ledger: Ledger
    idempotency: IdempotencyStore
    payment_operations: PaymentOperations
    legacy_wallets: LegacyWalletBridge
    migration: LegacyMigration
    wallet_funds: WalletFunds
    topups: Topups
    wallet_view: WalletView

    @classmethod
    def build(cls, database: Database, settings: Settings, provider: PaymentProvider) -> Services:
        ledger = Ledger(database)
        operations = PaymentOperations(database, provider)
        bridge = LegacyWalletBridge(database, settings)
        migration = LegacyMigration(database, ledger, bridge)
        topups = Topups(database, ledger, migration, operations, settings)
        return cls(
            database=database,
            settings=settings,
            provider=provider,
            ledger=ledger,
            idempotency=IdempotencyStore(database, timedelta(hours=settings.idempotency_key_ttl_hours)),
            payment_operations=operations,
            legacy_wallets=bridge,
            migration=migration,
            wallet_funds=WalletFunds(database, ledger, migration),
            topups=topups,
            wallet_view=WalletView(database, ledger, migration, bridge, topups),
        )


@asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """A process's services with their clients: checked, indexed, and closed on the way out.

    The HTTP service and every CLI job start this way, so they cannot drift apart.
    """
    database = connect(settings.mongodb_uri, settings.mongodb_database)
    provider = StripeAdapter(settings)
    try:
        await require_transaction_support(database)
        await ensure_indexes(database)
        yield Services.build(database, settings, provider)
    finally:
        await provider.close()
        await database.close()
