"""Admin notifications: new disputes and chargebacks, newest first, and marking one read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.auth import Principal, Role
from app.errors import NotFound, UnknownCursor
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import NotificationsDep, require_roles
from app.schemas.notifications import NotificationList, NotificationOut

router = APIRouter(prefix="/admin/notifications", tags=["admin"], route_class=ContractRoute)

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]


@router.get("", response_model=NotificationList, summary="Admin notifications, newest first")
@raises(UnknownCursor)
async def list_notifications(
    _: Staff,
    notifications: NotificationsDep,
    unread: Annotated[bool | None, Query(description="Only unread (true) or read (false) ones")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last notification_id of the previous page")
    ] = None,
) -> NotificationList:
    page = await notifications.page(unread, limit, starting_after)
    return NotificationList(
        data=[NotificationOut.model_validate(item, from_attributes=True) for item in page.data],
        has_more=page.has_more,
    )


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark a notification read")
@raises(NotFound)
async def mark_read(
    notification_id: Annotated[str, Path(min_length=1, max_length=255)],
    admin: Admin,
    notifications: NotificationsDep,
) -> NotificationOut:
    """Marking it again changes nothing: the first reader and time stay."""
    read = await notifications.mark_read(notification_id, admin.actor)
    return NotificationOut.model_validate(read, from_attributes=True)
