"""Public configuration for frontends: what Stripe.js needs to confirm a payment in the browser.

No token: a publishable key is meant to be public, and a frontend reads it before anyone signs
in, as Stripe's own samples do (stripe-samples/accept-a-payment serves `GET /config`).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.errors import ServiceError
from app.problems import PROBLEM_JSON
from app.routers.dependencies import SettingsDep
from app.schemas.config import StripeConfigOut

router = APIRouter(prefix="/config", tags=["config"])


class StripePublishableKeyMissing(ServiceError):
    code = "stripe_publishable_key_missing"
    status = 503
    title = "Payments in the browser are not configured"


_NOT_CONFIGURED = {
    "description": "`STRIPE_PUBLISHABLE_KEY` is not set (`stripe_publishable_key_missing`).",
    "content": {PROBLEM_JSON: {}},
}


@router.get(
    "/stripe",
    response_model=StripeConfigOut,
    summary="The Stripe publishable key and currency a frontend pays with",
    responses={503: _NOT_CONFIGURED},
)
async def stripe_config(settings: SettingsDep) -> StripeConfigOut:
    if settings.stripe_publishable_key is None:
        raise StripePublishableKeyMissing("STRIPE_PUBLISHABLE_KEY is not set on this service.")
    return StripeConfigOut(
        publishable_key=settings.stripe_publishable_key, currency=settings.platform_currency
    )
