"""The buyer's wallet: balances, history and card top-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.auth import Principal, Role, ensure_owner, require_roles
from app.domain.money import MAX_AMOUNT, Money
from app.routers.dependencies import IdempotencyKey, ServicesDep, respond_idempotently

router = APIRouter(prefix="/wallet", tags=["wallet"])
Buyer = Annotated[Principal, Depends(require_roles(Role.BUYER))]


class TopupRequestBody(BaseModel):
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="Minor units", examples=[2000])
    currency: str = Field(pattern=r"^[a-z]{3}$", examples=["usd"])


class TopupOut(BaseModel):
    topup_id: str
    payment_intent_id: str | None
    client_secret: str | None = Field(description="For Stripe Elements; only in the answer to the request")
    amount: int
    currency: str
    status: str


class WalletOut(BaseModel):
    currency: str
    legacy_balance: int
    platform_balance: int
    total_balance: int
    pending_topups: int = Field(description="Sum of top-ups awaiting payment, minor units")
    legacy_wallet_status: str = Field(description="none | not_migrated | migrated | invalid")


class WalletLineOut(BaseModel):
    id: str
    source: str = Field(description="legacy | platform")
    kind: str
    amount: int = Field(description="Signed, minor units")
    currency: str
    balance_after: int
    refs: dict[str, str]
    created_at: datetime


class WalletLinesOut(BaseModel):
    data: list[WalletLineOut]
    has_more: bool


@router.post(
    "/topup_request",
    status_code=201,
    response_model=TopupOut,
    summary="Start a card top-up; returns the client secret for Stripe Elements",
)
async def request_topup(
    request: Request, body: TopupRequestBody, buyer: Buyer, key: IdempotencyKey, services: ServicesDep
) -> JSONResponse:
    async def operation() -> tuple[int, dict[str, object]]:
        topup = await services.topups.request(buyer.user_id, Money(body.amount, body.currency), key)
        out = TopupOut(
            topup_id=topup.topup_id,
            payment_intent_id=topup.payment_intent_id,
            client_secret=topup.client_secret,
            amount=topup.amount.amount,
            currency=topup.amount.currency,
            status=str(topup.status),
        )
        return 201, out.model_dump(mode="json")

    return await respond_idempotently(request, buyer, key, body, operation)


@router.get("/topups/{topup_id}", response_model=TopupOut, summary="A top-up's status")
async def get_topup(topup_id: str, buyer: Buyer, services: ServicesDep) -> TopupOut:
    topup = await services.topups.get(topup_id)
    ensure_owner(buyer, topup["user_id"])
    return TopupOut(
        topup_id=topup["_id"],
        payment_intent_id=topup.get("payment_intent_id"),
        client_secret=None,
        amount=topup["amount"],
        currency=topup["currency"],
        status=topup["status"],
    )


@router.get("", response_model=WalletOut, summary="Legacy and platform balances")
async def get_wallet(buyer: Buyer, services: ServicesDep) -> WalletOut:
    summary = await services.wallet_view.summary(buyer.user_id, services.settings.platform_currency)
    return WalletOut(
        currency=summary.currency,
        legacy_balance=summary.legacy_balance,
        platform_balance=summary.platform_balance,
        total_balance=summary.total_balance,
        pending_topups=summary.pending_topups,
        legacy_wallet_status=summary.legacy_wallet_status,
    )


@router.get("/transactions", response_model=WalletLinesOut, summary="History of both balances, newest first")
async def list_transactions(
    buyer: Buyer,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[str | None, Query(max_length=600)] = None,
) -> WalletLinesOut:
    lines, has_more = await services.wallet_view.lines(
        buyer.user_id, services.settings.platform_currency, limit=limit, starting_after=starting_after
    )
    return WalletLinesOut(
        data=[WalletLineOut.model_validate(line, from_attributes=True) for line in lines], has_more=has_more
    )
