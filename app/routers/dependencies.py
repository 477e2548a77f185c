"""What routers receive: the caller, the services they use, and the Idempotency-Key plumbing.

The only module that reads `request.app.state`. A router declares exactly the services it
uses with the aliases below (`topups: TopupsDep`); tests replace one with
`app.dependency_overrides[get_topups]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from app.auth import Forbidden, Principal, Role, Unauthenticated, decode_token, ensure_owner
from app.config import Settings
from app.container import Services
from app.db import Database
from app.errors import NotFound
from app.problems import StoredProblem
from app.routers.contract import raises
from app.services.audit import AuditLog
from app.services.catalog import Catalog
from app.services.checkout import Checkout, EscrowReleases, SellerTransfers
from app.services.disputes import Chargebacks, Disputes, EvidenceStore
from app.services.flags import FeatureDisabled, FeatureFlags, Flag
from app.services.idempotency import (
    IdempotencyKeyReused,
    IdempotencyStore,
    IdempotentRequestInFlight,
    request_fingerprint,
)
from app.services.ledger import Ledger
from app.services.migration import LegacyMigration, MigrationRuns
from app.services.monitoring import OperationsFigures
from app.services.notifications import Notifications
from app.services.onboarding import Onboarding
from app.services.payouts import Payouts
from app.services.reconciliation import ReconciliationReview
from app.services.refunds import Refunds
from app.services.wallet import Topups, WalletView
from app.services.webhooks import WebhookEvents, WebhookInbox, WebhookProcessor

M = TypeVar("M", bound=BaseModel)

# Every dependency here is `async def`, though none awaits: FastAPI runs a plain `def` dependency
# in its thread pool, a thread hand-off per dependency per request for an attribute read.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesOfApp = Annotated[Services, Depends(get_services)]


async def get_database(services: ServicesOfApp) -> Database:
    return services.database


async def get_audit_log(services: ServicesOfApp) -> AuditLog:
    return services.audit_log


async def get_ledger(services: ServicesOfApp) -> Ledger:
    return services.ledger


async def get_idempotency(services: ServicesOfApp) -> IdempotencyStore:
    return services.idempotency


async def get_feature_flags(services: ServicesOfApp) -> FeatureFlags:
    return services.feature_flags


async def get_migration(services: ServicesOfApp) -> LegacyMigration:
    return services.migration


async def get_migration_runs(services: ServicesOfApp) -> MigrationRuns:
    return services.migration_runs


async def get_catalog(services: ServicesOfApp) -> Catalog:
    return services.catalog


async def get_checkout(services: ServicesOfApp) -> Checkout:
    return services.checkout


async def get_escrow_releases(services: ServicesOfApp) -> EscrowReleases:
    return services.escrow_releases


async def get_seller_transfers(services: ServicesOfApp) -> SellerTransfers:
    return services.seller_transfers


async def get_disputes(services: ServicesOfApp) -> Disputes:
    return services.disputes


async def get_chargebacks(services: ServicesOfApp) -> Chargebacks:
    return services.chargebacks


async def get_evidence(services: ServicesOfApp) -> EvidenceStore:
    return services.evidence


async def get_refunds(services: ServicesOfApp) -> Refunds:
    return services.refunds


async def get_notifications(services: ServicesOfApp) -> Notifications:
    return services.notifications


async def get_onboarding(services: ServicesOfApp) -> Onboarding:
    return services.onboarding


async def get_payouts(services: ServicesOfApp) -> Payouts:
    return services.payouts


async def get_topups(services: ServicesOfApp) -> Topups:
    return services.topups


async def get_wallet_view(services: ServicesOfApp) -> WalletView:
    return services.wallet_view


async def get_webhook_inbox(services: ServicesOfApp) -> WebhookInbox:
    return services.webhook_inbox


async def get_webhook_processor(services: ServicesOfApp) -> WebhookProcessor:
    return services.webhook_processor


async def get_webhook_events(services: ServicesOfApp) -> WebhookEvents:
    return services.webhook_events


async def get_reconciliation_review(services: ServicesOfApp) -> ReconciliationReview:
    return services.reconciliation_review


async def get_operations_figures(services: ServicesOfApp) -> OperationsFigures:
    return services.operations_figures


SettingsDep = Annotated[Settings, Depends(get_settings)]
# For the readiness probe alone: services own their collections, routers never build one.
DatabaseDep = Annotated[Database, Depends(get_database)]
AuditLogDep = Annotated[AuditLog, Depends(get_audit_log)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
IdempotencyDep = Annotated[IdempotencyStore, Depends(get_idempotency)]
FeatureFlagsDep = Annotated[FeatureFlags, Depends(get_feature_flags)]
LegacyMigrationDep = Annotated[LegacyMigration, Depends(get_migration)]
MigrationRunsDep = Annotated[MigrationRuns, Depends(get_migration_runs)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
CheckoutDep = Annotated[Checkout, Depends(get_checkout)]
EscrowReleasesDep = Annotated[EscrowReleases, Depends(get_escrow_releases)]
SellerTransfersDep = Annotated[SellerTransfers, Depends(get_seller_transfers)]
DisputesDep = Annotated[Disputes, Depends(get_disputes)]
ChargebacksDep = Annotated[Chargebacks, Depends(get_chargebacks)]
EvidenceDep = Annotated[EvidenceStore, Depends(get_evidence)]
RefundsDep = Annotated[Refunds, Depends(get_refunds)]
NotificationsDep = Annotated[Notifications, Depends(get_notifications)]
OnboardingDep = Annotated[Onboarding, Depends(get_onboarding)]
PayoutsDep = Annotated[Payouts, Depends(get_payouts)]
TopupsDep = Annotated[Topups, Depends(get_topups)]
WalletViewDep = Annotated[WalletView, Depends(get_wallet_view)]
WebhookInboxDep = Annotated[WebhookInbox, Depends(get_webhook_inbox)]
WebhookProcessorDep = Annotated[WebhookProcessor, Depends(get_webhook_processor)]
WebhookEventsDep = Annotated[WebhookEvents, Depends(get_webhook_events)]
ReconciliationReviewDep = Annotated[ReconciliationReview, Depends(get_reconciliation_review)]
OperationsFiguresDep = Annotated[OperationsFigures, Depends(get_operations_figures)]


# The caller

_bearer = HTTPBearer(auto_error=False)


@raises(Unauthenticated)
async def current_principal(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a Bearer token is required")
    principal = decode_token(settings, credentials.credentials)
    structlog.contextvars.bind_contextvars(user_id=principal.user_id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    @raises(Forbidden)
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(roles))}")
        return principal

    return dependency


def require_owner(
    path_param: str, *roles: Role, staff_roles: tuple[Role, ...] = ()
) -> Callable[[Request, Principal], Coroutine[Any, Any, Principal]]:
    """A dependency: the caller has one of `roles` (or a staff role) and the `path_param` id is
    their own, unless they hold a staff role; another user's id is 404, like an unknown one."""
    role_check = require_roles(*roles, *staff_roles)

    @raises(Forbidden, NotFound)
    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        await role_check(principal)
        ensure_owner(principal, request.path_params[path_param], staff_roles=staff_roles)
        return principal

    return dependency


def require_feature(flag: Flag) -> Callable[[Principal, FeatureFlags], Coroutine[Any, Any, None]]:
    """A dependency: the caller's `flag` is on (`FeatureFlags.require`), else 403 `feature_disabled`.

    What every flow behind a flag takes, as a parameter after its role's, so the role is checked
    first and the route documents the 403 by itself:
    `_: Annotated[None, Depends(require_feature(Flag.CHECKOUT_V2))]`.
    """

    @raises(FeatureDisabled)
    async def dependency(principal: CurrentPrincipal, flags: FeatureFlagsDep) -> None:
        await flags.require(flag, principal.user_id)

    return dependency


# Money-moving POSTs

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique per operation; repeating it with the same body replays the first answer.",
    ),
]


@dataclass(frozen=True)
class IdempotentRequest:
    """A money-moving POST: its Idempotency-Key, and how to answer it at most once per user and key."""

    key: str
    store: IdempotencyStore
    request: Request
    response: Response

    async def respond(
        self,
        principal: Principal,
        body: BaseModel,
        answer: type[M],
        operation: Callable[[], Awaitable[object]],
    ) -> M:
        """Run `operation` once per (user, key) and answer its result as `answer`; a repeat with
        the same body replays the first answer, refusals included."""
        route_status = getattr(self.request.scope.get("route"), "status_code", None) or 200

        async def first_run() -> tuple[int, Any]:
            result = answer.model_validate(await operation(), from_attributes=True)
            return route_status, result.model_dump(mode="json")

        fingerprint = request_fingerprint(
            self.request.method, self.request.url.path, body.model_dump(mode="json")
        )
        stored = await self.store.run(principal.user_id, self.key, fingerprint, first_run)
        headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
        if stored.status >= 400:
            raise StoredProblem(stored.status, stored.body, headers)
        self.response.headers.update(headers)
        self.response.status_code = stored.status
        return answer.model_validate(stored.body)


# A replay answers the first request's answer again: a refusal of the route itself, or one of these.
@raises(IdempotencyKeyReused, IdempotentRequestInFlight)
async def idempotent_request(
    key: IdempotencyKey, store: IdempotencyDep, request: Request, response: Response
) -> IdempotentRequest:
    return IdempotentRequest(key=key, store=store, request=request, response=response)


IdempotentRequestDep = Annotated[IdempotentRequest, Depends(idempotent_request)]
