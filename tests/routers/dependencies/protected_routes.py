"""Routes mounted only in tests, to exercise the shared auth and idempotency machinery the
way real routers use it."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field
from pymongo.errors import AutoReconnect

from app.auth import Principal, Role
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.routers.dependencies import (
    CurrentPrincipal,
    IdempotentRequestDep,
    LedgerDep,
    require_owner,
    require_roles,
)


class ChargeBody(BaseModel):
    amount: int = Field(gt=0)
    currency: str = "usd"
    delay_seconds: float = 0
    # The first `lost_connections` runs under a key fail as a failover would, after charging nothing.
    lost_connections: int = 0


class ChargeOut(BaseModel):
    charged: int
    call: int


def mount(app: FastAPI) -> list[int]:
    """Adds the test routes to `app`; returns the list the charge operation appends to per run."""
    router = APIRouter(prefix="/test")
    calls: list[int] = []
    failures: dict[str, int] = {}

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

    @router.post("/charges", status_code=201, response_model=ChargeOut)
    async def charge(
        body: ChargeBody, principal: CurrentPrincipal, idempotent: IdempotentRequestDep, ledger: LedgerDep
    ) -> ChargeOut:
        async def operation() -> ChargeOut:
            await asyncio.sleep(body.delay_seconds)
            failures[idempotent.key] = failures.get(idempotent.key, 0) + 1
            if failures[idempotent.key] <= body.lost_connections:
                raise AutoReconnect("connection to the primary lost")
            calls.append(body.amount)
            wallet = Accounts.buyer_wallet(principal.user_id)
            await ledger.post(
                entry(
                    f"charge:{principal.user_id}:{idempotent.key}",
                    EntryKind.ADJUSTMENT,
                    [Move(wallet, Accounts.BANK, body.amount, body.currency)],
                )
            )
            return ChargeOut(charged=body.amount, call=len(calls))

        return await idempotent.respond(principal, body, ChargeOut, operation)

    app.include_router(router)
    return calls
