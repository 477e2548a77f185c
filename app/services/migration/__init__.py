"""The legacy wallet migration: each user's legacy balance moved into the ledger, once."""

from app.services.migration.repository import INDEXES, LateMigration, LegacyWalletRecord
from app.services.migration.service import LegacyMigration, LegacyState, MigrationResult

__all__ = [
    "INDEXES",
    "LateMigration",
    "LegacyMigration",
    "LegacyState",
    "LegacyWalletRecord",
    "MigrationResult",
]
