"""The audit log as admins and support read it: who changed what, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth import Principal, Role
from app.errors import UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import AuditLogDep, require_roles
from app.schemas.audit import AuditRecordList, AuditRecordOut
from app.services.audit import AuditFilter

router = APIRouter(prefix="/admin/audit", tags=["admin"], route_class=ContractRoute)

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]


@router.get("", summary="Audit records, newest first")
@raises(UnknownCursor)
async def list_audit_records(
    _: Reader,
    audit_log: AuditLogDep,
    actor: Annotated[
        str | None,
        Query(
            min_length=1, max_length=255, description="Actor id: a user id, a job name or a Stripe event id"
        ),
    ] = None,
    object_type: Annotated[str | None, Query(min_length=1, max_length=100, examples=["topup"])] = None,
    object_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    action: Annotated[
        str | None, Query(min_length=1, max_length=100, examples=["topup.status_changed"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last id of the previous page")
    ] = None,
) -> AuditRecordList:
    """The hash chain, newest first. A change appears once the sealer has chained it, within
    about a second (AUDIT_SEAL_INTERVAL_SECONDS)."""
    where = AuditFilter(actor_id=actor, object_type=object_type, object_id=object_id, action=action)
    page = await audit_log.page(where, limit, starting_after)
    return AuditRecordList(
        data=[AuditRecordOut.model_validate(record, from_attributes=True) for record in page.data],
        has_more=page.has_more,
    )
