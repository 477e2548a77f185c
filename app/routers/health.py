"""Liveness, readiness and metrics: the only routes without authentication besides webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.errors import ServiceError
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import DatabaseDep, OperationsFiguresDep

router = APIRouter(tags=["operations"], route_class=ContractRoute)


class NotReady(ServiceError):
    code = "not_ready"
    status = 503
    title = "Not ready"


@router.get("/healthz", summary="The process is up")
@raises()
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="MongoDB is reachable")
@raises(NotReady)
async def readyz(database: DatabaseDep) -> dict[str, str]:
    if not await database.is_reachable():
        raise NotReady("MongoDB is not reachable")
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
@raises()
async def metrics(figures: OperationsFiguresDep) -> Response:
    """The gauges of what stands now are read from MongoDB first; without MongoDB the counters
    are still served, with the gauges as last read (`/readyz` says why)."""
    await figures.export()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
