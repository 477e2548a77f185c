"""Responses of the legacy migration's admin API: runs, their results and their rejected wallets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.schemas.base import RequestBody


class SnapshotOut(BaseModel):
    count: int = Field(description="Legacy wallets in the run's scope when it started")
    totals: dict[str, str] = Field(description="Exact total per currency, major units, as decimal text")
    unparseable: int = Field(description="Wallets whose amount is not a number (in no total)")
    checksum: str = Field(description="Order-independent SHA-256 based checksum over every (user, amount)")


class CurrencyTotalsOut(BaseModel):
    currency: str
    legacy: str = Field(description="The snapshot's total, decimal text")
    migrated: str
    rejected: str
    already_migrated: str
    reconciles: bool = Field(description="legacy = migrated + rejected + already_migrated, exactly")


class IntegrityCheckOut(BaseModel):
    name: str = Field(
        description="totals_reconcile | per_user_amounts | ledger_conservation | legacy_checksum"
    )
    ok: bool
    detail: str
    problems: list[str] = Field(description="The first problems found (at most 20)")


class RollbackOut(BaseModel):
    at: datetime
    rolled_back: int = Field(description="Users whose migration was reversed by the last rollback")
    left: int = Field(description="Users it left migrated (spent or changed since)")


class MigrationRunOut(BaseModel):
    run_id: str
    status: str = Field(description="running | interrupted | completed | rolled_back")
    actor: str
    started_at: datetime
    finished_at: datetime | None
    batch_size: int
    only_users: int | None = Field(description="How many users the run was limited to, if it was")
    batches: int
    counts: dict[str, int] = Field(
        description="Wallets by outcome (migrated, late_migrated, already_migrated, rejected), "
        "rejected:<reason>, normalized; while running, the outcomes so far"
    )
    posted: dict[str, int] = Field(description="Minor units the run's openings posted, per currency")
    totals: list[CurrencyTotalsOut] = Field(description="Per currency, once the run has completed")
    snapshot: SnapshotOut
    integrity_ok: bool | None
    integrity: list[IntegrityCheckOut]
    rollback: RollbackOut | None


class MigrationRunList(BaseModel):
    data: list[MigrationRunOut]
    has_more: bool


class RejectedWalletOut(BaseModel):
    legacy_id: str = Field(description="The legacy document's `_id`")
    user_id: str | None
    raw_user_id: str = Field(description="The user id as stored, with its type (`string:…`, `objectId:…`)")
    reason: str = Field(description="A reason code, e.g. `sub_cent_precision`, `duplicate_wallet`")
    detail: str
    balance: str = Field(description="The balance as stored, with its type (`double:12.345`)")
    currency: str = Field(description="The currency as stored, with its type")


class RejectedWalletList(BaseModel):
    data: list[RejectedWalletOut]
    has_more: bool


class MigrationRunDetail(MigrationRunOut):
    rejected: RejectedWalletList = Field(
        description="Rejected wallets, in legacy `_id` order (`limit`, `starting_after`)"
    )


class MigrateUserBody(RequestBody):
    """Nothing to say: the user is in the path. An empty object, for the Idempotency-Key's sake."""


class MigratedUserOut(BaseModel):
    user_id: str
    status: str = Field(description="none (no legacy wallet) | migrated")
    amount: int = Field(description="Minor units migrated into the ledger, all told")
    currency: str | None
