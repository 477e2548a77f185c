"""Routes mounted only in tests, to exercise the shared auth and idempotency machinery the
way real routers use it."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.auth import CurrentPrincipal, Principal, Role, require_owner, require_roles
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.routers.dependencies import IdempotencyKey, respond_idempotently
from app.services.ledger import Ledger


class ChargeBody(BaseModel):
    amount: int = Field(gt=0)
    currency: str = "usd"
    delay_seconds: float = 0


def mount(app: FastAPI) -> list[int]:
    """Adds the test routes to `app`; returns the list the charge operation appends to per run."""
    router = APIRouter(prefix="/test")
    calls: list[int] = []

    @router.get("/buyers/{buyer_id}")
    async def buyer_data(
        buyer_id: str,
        principal: Annotated[
            Principal, Depends(require_owner("buyer_id", Role.BUYER, staff_roles=(Role.SUPPORT,)))
        ],
    ) -> dict[str, str]:
        return {"buyer_id": buyer_id}

    @router.get("/admin-only")
    async def admin_only(
        principal: Annotated[Principal, Depends(require_roles(Role.ADMIN))],
    ) -> dict[str, str]:
        return {"user": principal.user_id}

    @router.post("/charges", status_code=201)
    async def charge(
        request: Request, body: ChargeBody, principal: CurrentPrincipal, key: IdempotencyKey
    ) -> JSONResponse:
        async def operation() -> tuple[int, dict[str, object]]:
            await asyncio.sleep(body.delay_seconds)
            calls.append(body.amount)
            ledger: Ledger = request.app.state.services.ledger
            wallet = Accounts.buyer_wallet(principal.user_id)
            await ledger.post(
                entry(
                    f"charge:{principal.user_id}:{key}",
                    EntryKind.ADJUSTMENT,
                    [Move(wallet, Accounts.BANK, body.amount, body.currency)],
                )
            )
            return 201, {"charged": body.amount, "call": len(calls)}

        return await respond_idempotently(request, principal, key, body, operation)

    app.include_router(router)
    return calls
