"""The legacy wallet migration: each user's legacy balance moved into the ledger, once, one by
one on first use or in bulk runs that can be verified and rolled back."""

from app.adapters.legacy_wallet_bridge import LegacyWalletChanged
from app.domain.migration import InvalidLegacyBalance
from app.services.migration.integrity import IntegrityCheck
from app.services.migration.repository import INDEXES as RECORD_INDEXES
from app.services.migration.repository import LateMigration, LegacyWalletRecord
from app.services.migration.rollback import Left, LeftUser, RollbackReport, Rollbacks
from app.services.migration.run_repository import INDEXES as RUN_INDEXES
from app.services.migration.run_repository import (
    MigrationRun,
    Rejection,
    RejectionPage,
    RollbackSummary,
    RunPage,
    RunStatus,
)
from app.services.migration.runs import (
    DEFAULT_BATCH_SIZE,
    MigrationInProgress,
    MigrationRuns,
    RunNotResumable,
    RunOptions,
    RunReport,
)
from app.services.migration.service import LegacyMigration, LegacyState
from app.services.migration.writer import MigrationResult

INDEXES = {**RECORD_INDEXES, **RUN_INDEXES}

# What migrating one user can answer besides success (the admin's "migrate now").
MIGRATION_ERRORS = (InvalidLegacyBalance, LegacyWalletChanged)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "INDEXES",
    "MIGRATION_ERRORS",
    "IntegrityCheck",
    "InvalidLegacyBalance",
    "LateMigration",
    "Left",
    "LeftUser",
    "LegacyMigration",
    "LegacyState",
    "LegacyWalletChanged",
    "LegacyWalletRecord",
    "MigrationInProgress",
    "MigrationResult",
    "MigrationRun",
    "MigrationRuns",
    "Rejection",
    "RejectionPage",
    "RollbackReport",
    "RollbackSummary",
    "Rollbacks",
    "RunNotResumable",
    "RunOptions",
    "RunPage",
    "RunReport",
    "RunStatus",
]
