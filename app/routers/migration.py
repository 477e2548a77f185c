"""The legacy wallet migration as admins see it: the bulk runs (and what each rejected), and a
user migrated now, by the same code as a first use of the wallet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.auth import Principal, Role
from app.domain.migration import reconcile
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import IdempotentRequestDep, LegacyMigrationDep, MigrationRunsDep, require_roles
from app.schemas.migration import (
    CurrencyTotalsOut,
    IntegrityCheckOut,
    MigratedUserOut,
    MigrateUserBody,
    MigrationRunDetail,
    MigrationRunList,
    MigrationRunOut,
    RejectedWalletList,
    RejectedWalletOut,
    RollbackOut,
    SnapshotOut,
)
from app.services.migration import MIGRATION_ERRORS, MigrationRun

router = APIRouter(prefix="/admin/migrations", tags=["admin"], route_class=ContractRoute)

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("", summary="Bulk migration runs, newest first, with their counts, totals and status")
@raises(UnknownCursor)
async def list_runs(
    _: Reader,
    runs: MigrationRunsDep,
    limit: Limit = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last id of the previous page")
    ] = None,
) -> MigrationRunList:
    page = await runs.page(limit, starting_after)
    return MigrationRunList(data=[_run_out(run) for run in page.data], has_more=page.has_more)


@router.get("/{run_id}", summary="A bulk migration run, with the wallets it rejected")
@raises(NotFound, UnknownCursor)
async def get_run(
    run_id: Annotated[str, Path(min_length=1, max_length=255)],
    _: Reader,
    runs: MigrationRunsDep,
    limit: Limit = 100,
    starting_after: Annotated[
        str | None,
        Query(max_length=255, description="Last `legacy_id` of the previous page of rejected wallets"),
    ] = None,
) -> MigrationRunDetail:
    run = await runs.get(run_id)
    rejected = await runs.rejections(run_id, limit, starting_after)
    return MigrationRunDetail(
        **_run_out(run).model_dump(),
        rejected=RejectedWalletList(
            data=[RejectedWalletOut.model_validate(item, from_attributes=True) for item in rejected.data],
            has_more=rejected.has_more,
        ),
    )


@router.post(
    "/legacy-wallets/{user_id}",
    summary="Migrate one user's legacy wallet now (the code of a first use of the wallet)",
)
@raises(*MIGRATION_ERRORS)
async def migrate_user(
    user_id: Annotated[str, Path(min_length=1, max_length=255)],
    admin_user: Admin,
    idempotent: IdempotentRequestDep,
    migration: LegacyMigrationDep,
    body: MigrateUserBody | None = None,
) -> MigratedUserOut:
    """Audited as the admin's. A wallet that cannot be migrated is `422 invalid_legacy_balance`
    with its `reason`, and nothing changes; a user already migrated is answered as they stand.
    The body, if any, is an empty object."""

    async def migrate() -> MigratedUserOut:
        result = await migration.migrate_now(user_id, admin_user.actor)
        return MigratedUserOut(
            user_id=user_id, status=result.status.value, amount=result.amount, currency=result.currency
        )

    return await idempotent.respond(admin_user, body or MigrateUserBody(), MigratedUserOut, migrate)


def _run_out(run: MigrationRun) -> MigrationRunOut:
    finished = bool(run.tally.counts)
    snapshot = run.snapshot.as_document()
    return MigrationRunOut(
        run_id=run.id,
        status=run.status.value,
        actor=run.actor,
        started_at=run.started_at,
        finished_at=run.finished_at,
        batch_size=run.batch_size,
        only_users=len(run.users) if run.users is not None else None,
        batches=run.batches,
        counts=run.counts,
        posted=dict(run.tally.posted),
        totals=[
            CurrencyTotalsOut(
                currency=item.currency,
                legacy=str(item.legacy),
                migrated=str(item.migrated),
                rejected=str(item.rejected),
                already_migrated=str(item.already_migrated),
                reconciles=item.holds,
            )
            for item in (reconcile(run.snapshot, run.tally) if finished else [])
        ],
        snapshot=SnapshotOut(**snapshot),
        integrity_ok=run.integrity_ok,
        integrity=[IntegrityCheckOut.model_validate(check) for check in run.integrity],
        rollback=RollbackOut.model_validate(run.rollback, from_attributes=True) if run.rollback else None,
    )
