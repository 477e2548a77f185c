"""Disputes: a buyer opens one on a seller's part of an order; the buyer, that seller and admins
add evidence (texts, files) and read it; admins list disputes and chargebacks and resolve the
buyers' ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from app.auth import Principal, Role
from app.config import Settings
from app.domain.checkout import OrderNotPaid
from app.domain.disputes import (
    DisputeAlreadyOpen,
    DisputeKind,
    DisputeNotOpen,
    DisputeStatus,
    DisputeWindowClosed,
    EvidenceTooLarge,
    EvidenceTypeNotAllowed,
    NotABuyerDispute,
    NotAChargeback,
    RefundAmountRequired,
    submission_id_for,
)
from app.errors import InvalidRequest, NotFound, UnknownCursor
from app.problems import MalformedJson
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import (
    ChargebacksDep,
    DisputesDep,
    EvidenceDep,
    IdempotentRequestDep,
    require_roles,
)
from app.schemas.disputes import (
    DisputeDetailOut,
    DisputeList,
    DisputeOut,
    EvidenceOut,
    EvidenceTextBody,
    OpenDisputeBody,
    ResolveDisputeBody,
    StripeEvidenceBody,
)
from app.services.disputes import DisputeFilter, OpenDispute, Resolution, StripeEvidence
from app.services.payment_operations import PAYMENT_OPERATION_ERRORS
from app.services.refunds import REFUND_ERRORS, EscrowNotRefundable
from app.strict_json import InvalidJson, parse_json


class EvidenceRoute(ContractRoute):
    """Evidence files are larger than JSON bodies: this route reads up to the evidence limit."""

    def body_limit(self, settings: Settings) -> int:
        return max(settings.evidence_max_bytes, settings.max_request_body_bytes)


router = APIRouter(prefix="/dispute", tags=["disputes"], route_class=ContractRoute)
evidence_router = APIRouter(prefix="/dispute", tags=["disputes"], route_class=EvidenceRoute)
admin = APIRouter(prefix="/admin/disputes", tags=["admin"], route_class=ContractRoute)

Buyer = Annotated[Principal, Depends(require_roles(Role.BUYER))]
Reader = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.SELLER, Role.ADMIN, Role.SUPPORT))]
Author = Annotated[Principal, Depends(require_roles(Role.BUYER, Role.SELLER, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
DisputeId = Annotated[str, Path(min_length=1, max_length=255)]

EVIDENCE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": 'A text as JSON (`{"text": ...}`), or a file as the body with its own media type '
        "(`EVIDENCE_CONTENT_TYPES`, at most `EVIDENCE_MAX_BYTES`) and `filename` in the query",
        "content": {
            "application/json": {"schema": EvidenceTextBody.model_json_schema()},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post("", status_code=201, response_model=DisputeOut, summary="Dispute a seller's part of an order")
@raises(NotFound, DisputeAlreadyOpen, DisputeWindowClosed, OrderNotPaid, EscrowNotRefundable)
async def open_dispute(
    body: OpenDisputeBody, buyer: Buyer, idempotent: IdempotentRequestDep, disputes: DisputesDep
) -> DisputeOut:
    """Freezes that seller's escrow until an admin resolves the dispute: nothing is released
    meanwhile (409 `escrow_disputed`). A seller already paid can be disputed within
    `DISPUTE_WINDOW_DAYS` of the release."""
    request = OpenDispute(body.order_id, body.seller_id, body.reason, body.description)
    return await idempotent.respond(
        buyer, body, DisputeOut, lambda: disputes.open(buyer.user_id, request, idempotent.key, buyer.actor)
    )


@router.get(
    "/{dispute_id}", response_model=DisputeDetailOut, summary="A dispute and who added what evidence when"
)
@raises(NotFound)
async def get_dispute(
    dispute_id: DisputeId, viewer: Reader, disputes: DisputesDep, evidence: EvidenceDep
) -> DisputeDetailOut:
    dispute = await disputes.visible(
        dispute_id, viewer.user_id, staff=viewer.has_any(Role.ADMIN, Role.SUPPORT)
    )
    detail = DisputeOut.model_validate(dispute, from_attributes=True).model_dump()
    return DisputeDetailOut(
        **detail,
        evidence=[
            EvidenceOut.model_validate(item, from_attributes=True) for item in await evidence.of(dispute)
        ],
    )


@evidence_router.post(
    "/{dispute_id}/evidence",
    status_code=201,
    response_model=EvidenceOut,
    summary="Add evidence: a text (JSON) or a file (its own media type)",
    openapi_extra=EVIDENCE_BODY,
)
@raises(NotFound, MalformedJson, EvidenceTooLarge, EvidenceTypeNotAllowed)
async def add_evidence(
    dispute_id: DisputeId,
    request: Request,
    author: Author,
    disputes: DisputesDep,
    evidence: EvidenceDep,
    filename: Annotated[
        str,
        Query(min_length=1, max_length=255, pattern=r"^[\w.\- ]+$", description="A file's name (files only)"),
    ] = "evidence",
) -> EvidenceOut:
    """Files are stored in MongoDB (GridFS); a file of another type (415) or larger than allowed
    (413) is refused and nothing is stored."""
    staff = author.has_any(Role.ADMIN)
    dispute = await disputes.visible(dispute_id, author.user_id, staff=staff)
    role = "admin" if staff else "buyer" if author.user_id == dispute.buyer_id else "seller"
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() == "application/json":
        text = _evidence_text(await request.body())
        added = await evidence.add_text(dispute, text, author.actor, role)
    else:
        declared = request.headers.get("content-length")
        media_type = evidence.check_file(
            content_type, int(declared) if declared and declared.isdigit() else None
        )
        added = await evidence.add_file(dispute, filename, media_type, request.stream(), author.actor, role)
    return EvidenceOut.model_validate(added, from_attributes=True)


def _evidence_text(body: bytes) -> str:
    try:
        parsed = parse_json(body)
    except InvalidJson as error:
        raise MalformedJson(str(error)) from error
    try:
        return EvidenceTextBody.model_validate(parsed).text
    except ValidationError as error:
        fields = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        raise InvalidRequest("the evidence text is not valid", errors=fields) from error


@router.get(
    "/{dispute_id}/evidence/{file_id}",
    response_class=StreamingResponse,
    summary="Download an evidence file",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file, streamed"}},
)
@raises(NotFound)
async def download_evidence(
    dispute_id: DisputeId,
    file_id: Annotated[str, Path(min_length=1, max_length=255)],
    viewer: Reader,
    disputes: DisputesDep,
    evidence: EvidenceDep,
) -> StreamingResponse:
    dispute = await disputes.visible(
        dispute_id, viewer.user_id, staff=viewer.has_any(Role.ADMIN, Role.SUPPORT)
    )
    download = await evidence.download(dispute, file_id)
    found = download.evidence

    async def body() -> AsyncIterator[bytes]:
        async for chunk in download.chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=found.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Content-Length": str(found.size),
        },
    )


@admin.get(
    "", response_model=DisputeList, summary="Disputes and chargebacks, newest first, with their funding"
)
@raises(UnknownCursor)
async def list_disputes(
    _: Staff,
    disputes: DisputesDep,
    status: DisputeStatus | None = None,
    kind: DisputeKind | None = None,
    is_open: Annotated[
        bool | None,
        Query(
            alias="open",
            description="Only those still open (a buyer's dispute waiting for an admin, a chargeback "
            "for Stripe's decision), or only those closed",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    starting_after: Annotated[
        str | None, Query(max_length=255, description="Last dispute_id of the previous page")
    ] = None,
) -> DisputeList:
    page = await disputes.page(DisputeFilter(status, kind, is_open), limit, starting_after)
    return DisputeList(
        data=[DisputeOut.model_validate(dispute, from_attributes=True) for dispute in page.data],
        has_more=page.has_more,
    )


@admin.post("/{dispute_id}/resolve", response_model=DisputeOut, summary="Resolve a buyer's dispute")
@raises(
    NotFound,
    NotABuyerDispute,
    DisputeNotOpen,
    RefundAmountRequired,
    *REFUND_ERRORS,
    *PAYMENT_OPERATION_ERRORS,
)
async def resolve_dispute(
    dispute_id: DisputeId,
    body: ResolveDisputeBody,
    admin_principal: Admin,
    idempotent: IdempotentRequestDep,
    disputes: DisputesDep,
) -> DisputeOut:
    """`refund_buyer`: everything back to where it came from (the card by a Stripe refund, the
    wallet and legacy parts at once), before any seller payout. `release_to_seller`: the seller
    is paid. `split`: `refund_amount` back by source (card first, or `refund_sources`), the rest
    released; exact to the cent. A seller paid before the dispute: the platform refunds the buyer
    the same way from its own money and takes the seller's share back (their transfer reversed,
    or their debt); 409 `escrow_not_refundable` while their transfer is still being made.
    A dispute resolved already answers that resolution when asked for the same outcome again (a
    retry finishes what an interruption left) and 409 `dispute_not_open` for another outcome."""
    resolution = Resolution(body.outcome, body.note, body.refund_amount, tuple(body.refund_sources or ()))
    return await idempotent.respond(
        admin_principal,
        body,
        DisputeOut,
        lambda: disputes.resolve(dispute_id, resolution, admin_principal.actor),
    )


@admin.post(
    "/{dispute_id}/submit-evidence",
    response_model=DisputeOut,
    summary="Send evidence for a chargeback to Stripe (submitted unless `submit` is false)",
)
@raises(NotFound, NotAChargeback, DisputeNotOpen, *PAYMENT_OPERATION_ERRORS)
async def submit_evidence(
    dispute_id: DisputeId,
    body: StripeEvidenceBody,
    admin_principal: Admin,
    idempotent: IdempotentRequestDep,
    chargebacks: ChargebacksDep,
) -> DisputeOut:
    evidence = StripeEvidence(**body.model_dump(exclude={"submit"}))
    submission_id = submission_id_for(admin_principal.user_id, idempotent.key)
    return await idempotent.respond(
        admin_principal,
        body,
        DisputeOut,
        lambda: chargebacks.submit_evidence(
            dispute_id, submission_id, evidence, body.submit, admin_principal.actor
        ),
    )
