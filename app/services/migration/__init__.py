"""The legacy wallet migration: each user's legacy balance moved into the ledger, once."""

from app.services.migration.repository import INDEXES, LegacyWalletRecord
from app.services.migration.service import MIGRATION_ERRORS, LegacyMigration, MigrationResult

__all__ = ["INDEXES", "MIGRATION_ERRORS", "LegacyMigration", "LegacyWalletRecord", "MigrationResult"]
