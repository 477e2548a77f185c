"""Public configuration for frontends: what Stripe.js needs to confirm a payment in the browser.

No token: a publishable key is meant to be public, and a frontend reads it before anyone signs
in, as Stripe's own samples do (stripe-samples/accept-a-payment serves `GET /config`).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.errors import ServiceError
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import SettingsDep
from app.schemas.config import StripeConfigOut

router = APIRouter(prefix="/config", tags=["config"], route_class=ContractRoute)


class StripePublishableKeyMissing(ServiceError):
    code = "stripe_publishable_key_missing"
    status = 503
    title = "Payments in the browser are not configured"


@router.get(
    "/stripe",
    response_model=StripeConfigOut,
    summary="The Stripe publishable key and currency a frontend pays with",
)
@raises(StripePublishableKeyMissing)
async def stripe_config(settings: SettingsDep) -> StripeConfigOut:
    if settings.stripe_publishable_key is None:
        raise StripePublishableKeyMissing("STRIPE_PUBLISHABLE_KEY is not set on this service.")
    return StripeConfigOut(
        publishable_key=settings.stripe_publishable_key, currency=settings.platform_currency
    )
