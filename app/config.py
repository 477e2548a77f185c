"""Settings, read from the environment once at start-up and validated there."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.charge_minimum import has_minimum_charge, minimum_charge

CURRENCY_PATTERN = re.compile(r"^[a-z]{3}$")
FIELD_PATH_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
# Where a platform in the US, the UK, the EEA, Canada or Switzerland can pay sellers out
# (https://docs.stripe.com/connect/cross-border-payouts, "Availability"): those regions.
CROSS_BORDER_PAYOUT_COUNTRIES = (
    "AT,BE,BG,CA,CH,CY,CZ,DE,DK,EE,ES,FI,FR,GB,GR,HR,HU,IE,IS,IT,LI,LT,LU,LV,MT,NL,NO,PL,PT,RO,SE,SI,SK,US"
)


class AuthSettings(BaseSettings):
    """The token settings alone, enough to verify or mint a token without a database."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_audience: str | None = None
    jwt_issuer: str | None = None

    @model_validator(mode="after")
    def _jwt_key_matches_algorithm(self) -> AuthSettings:
        if self.jwt_algorithm == "HS256":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret) < 32:
                raise ValueError("JWT_SECRET of at least 32 characters is required for HS256")
        elif not self.jwt_public_key:
            raise ValueError("JWT_PUBLIC_KEY (PEM) is required for RS256")
        return self


class Settings(AuthSettings):
    mongodb_uri: str = Field(description="MongoDB connection string (a replica set).")
    mongodb_database: str = "payments"

    stripe_secret_key: SecretStr
    # Public by design: Stripe.js runs with it in the browser. Optional because only frontends
    # need it (`GET /config/stripe`); workers and operator commands run without it.
    stripe_publishable_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr
    stripe_connect_webhook_secret: SecretStr
    stripe_max_network_retries: int = Field(default=2, ge=0, le=10)
    stripe_timeout_seconds: float = Field(default=30.0, gt=0)
    stripe_retry_attempts: int = Field(default=3, ge=1, le=10, description="Our retries of transient errors")
    stripe_retry_max_wait_seconds: float = Field(default=8.0, ge=0, le=120)

    platform_currency: str = "usd"
    platform_fee_bps: int = Field(default=1000, ge=0, le=10_000)
    platform_fee_fixed: int = Field(default=0, ge=0)
    escrow_auto_release_days: int = Field(default=14, ge=1, le=365)
    idempotency_key_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)

    webhook_worker_enabled: bool = Field(
        default=True, description="Process stored webhook events inside the HTTP service."
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_retry_base_seconds: float = Field(default=10.0, ge=0, le=3600)
    webhook_retry_max_seconds: float = Field(default=3600.0, ge=0, le=7 * 24 * 3600)
    webhook_claim_seconds: float = Field(default=300.0, gt=0, le=3600)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)

    legacy_wallet_database: str | None = Field(
        default=None, description="Database of the legacy wallets; unset means MONGODB_DATABASE."
    )
    legacy_wallet_collection: str = "wallets"
    legacy_wallet_recheck_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long a user found with no legacy wallet, or a migrated one, is not looked up again.",
    )
    legacy_wallet_index: bool = Field(
        default=True,
        description="Create (and own) the index on `userId` of the legacy wallets collection at start-up.",
    )
    # The rollout share of each feature flag without a stored rule (`PUT /admin/flags/{name}`
    # stores one): 0 to 100 % of users.
    feature_wallet_v2_percent: int = Field(default=100, ge=0, le=100)
    feature_checkout_v2_percent: int = Field(default=100, ge=0, le=100)
    feature_seller_payouts_percent: int = Field(default=100, ge=0, le=100)
    feature_legacy_migration_percent: int = Field(default=0, ge=0, le=100)
    feature_flags_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How long a process keeps the flags' rules before reading them again.",
    )
    topup_min_amount: int = Field(default=500, ge=1)
    topup_max_amount: int = Field(default=100_000, ge=1)
    topup_max_open_per_buyer: int = Field(
        default=5, ge=1, description="Top-ups awaiting payment a buyer may hold at once"
    )
    topup_expire_after_hours: float = Field(
        default=24.0, gt=0, description="An unpaid top-up is canceled, with its PaymentIntent, after this"
    )
    topup_expiry_interval_seconds: float = Field(default=300.0, gt=0)

    # The marketplace's product catalog, where checkout takes its prices from. A field name may be
    # a dotted path into a sub-document (`price.amount`).
    catalog_database: str | None = Field(
        default=None, description="Database of the product catalog; unset means MONGODB_DATABASE."
    )
    catalog_collection: str = "products"
    catalog_id_field: str = "_id"
    catalog_seller_field: str = "seller_id"
    catalog_title_field: str = "title"
    catalog_price_field: str = Field(default="price.amount", description="Unit price, integer minor units")
    catalog_currency_field: str = "price.currency"
    catalog_active_field: str = "active"
    catalog_index: bool = Field(
        default=True,
        description="Create (and own) the catalog's indexes at start-up: active products by id, by seller.",
    )

    checkout_max_lines: int = Field(default=50, ge=1, le=500, description="Lines one order may have")
    checkout_max_quantity: int = Field(default=100, ge=1, le=1_000_000, description="Units of one line")
    checkout_expire_after_minutes: float = Field(
        default=60.0,
        gt=0,
        description="An order still unpaid after this is canceled, its wallet parts given back",
    )
    checkout_expiry_interval_seconds: float = Field(default=60.0, gt=0)
    escrow_release_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the service looks for escrows due for auto-release"
    )
    transfer_retry_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the service retries transfers to sellers that wait"
    )
    transfer_stuck_after_seconds: float = Field(
        default=300.0, ge=0, description="A transfer still being sent after this is sent again (same key)"
    )

    payout_min_amount: int = Field(
        default=100, ge=1, description="Smallest payout a seller may request, minor units"
    )
    seller_balance_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long a seller's balance read from Stripe is reused"
    )
    seller_balance_stripe_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How long the balance page waits for Stripe before answering the last known figure",
    )
    payout_lock_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How long one payout request may hold its seller's lock (a crashed holder's lapses)",
    )

    users_database: str | None = Field(
        default=None, description="Database of the marketplace's users; unset means MONGODB_DATABASE."
    )
    users_collection: str = "users"
    users_id_field: str = Field(default="_id", description="The field holding the user id")
    users_email_field: str = Field(default="email", description="A seller's email (a dotted path)")
    users_country_field: str = Field(
        default="country", description="A seller's ISO 3166-1 alpha-2 country (a dotted path)"
    )
    seller_countries: str = Field(
        default=CROSS_BORDER_PAYOUT_COUNTRIES,
        description="Comma-separated countries sellers may be in (ISO 3166-1 alpha-2)",
    )
    seller_card_payments: bool = Field(
        default=False, description="Request `card_payments` on sellers' accounts too (not only `transfers`)"
    )
    onboarding_refresh_url: str = Field(
        default="http://localhost:3000/seller/{seller_id}/payments/onboarding/refresh",
        description="Where an expired onboarding link sends the seller; `{seller_id}` is filled in",
    )
    onboarding_return_url: str = Field(
        default="http://localhost:3000/seller/{seller_id}/payments/onboarding/done",
        description="Where Stripe's onboarding returns the seller (frontend); `{seller_id}` is filled in",
    )

    dispute_window_days: int = Field(
        default=30, ge=0, le=365, description="Days after a release during which its buyer may still dispute"
    )
    evidence_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024, description="Largest evidence file"
    )
    evidence_content_types: str = Field(
        default="application/pdf,image/png,image/jpeg",
        description="Comma-separated media types evidence files may have",
    )
    notification_url: str | None = Field(
        default=None, description="Where admin notifications are POSTed (signed); unset: listed only"
    )
    notification_secret: SecretStr | None = Field(
        default=None, description="Shared secret signing the POSTed notifications (X-Payments-Signature)"
    )
    notification_max_attempts: int = Field(default=8, ge=1, le=100)
    notification_retry_base_seconds: float = Field(default=10.0, ge=0, le=3600)
    notification_retry_max_seconds: float = Field(default=3600.0, ge=0, le=7 * 24 * 3600)
    notification_interval_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often due notifications are POSTed"
    )
    notification_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    chargeback_recovery_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often unfinished seller recoveries (reversals, repayments) are tried again",
    )

    max_request_body_bytes: int = Field(default=64 * 1024, ge=1024, description="JSON API request bodies")
    max_webhook_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Stripe webhook bodies")

    jobs_enabled: bool = Field(default=True, description="Run periodic jobs inside the HTTP service.")
    payment_operations_janitor_interval_seconds: float = Field(default=60.0, gt=0)
    payment_operations_stale_after_seconds: float = Field(default=300.0, ge=0)
    audit_seal_interval_seconds: float = Field(
        default=1.0, gt=0, le=3600, description="How often the audit sealer chains new audit records."
    )
    reconciliation_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often the service looks whether a day is due for reconciliation.",
    )
    reconciliation_delay_hours: float = Field(
        default=2.0,
        ge=0,
        le=22,
        description="How long after a UTC day ends it is reconciled (late Stripe work lands first).",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("platform_currency")
    @classmethod
    def _currency_is_iso_lowercase(cls, value: str) -> str:
        if not CURRENCY_PATTERN.match(value):
            raise ValueError("must be a lowercase three-letter ISO currency code, e.g. 'usd'")
        return value

    @field_validator("users_id_field", "users_email_field", "users_country_field")
    @classmethod
    def _field_path(cls, value: str) -> str:
        if not FIELD_PATH_PATTERN.match(value):
            raise ValueError("must be a field name or a dotted path of field names, e.g. 'address.country'")
        return value

    @field_validator("seller_countries")
    @classmethod
    def _country_list(cls, value: str) -> str:
        countries = [country.strip() for country in value.split(",") if country.strip()]
        if not countries or not all(COUNTRY_PATTERN.match(country) for country in countries):
            raise ValueError("must be ISO 3166-1 alpha-2 codes separated by commas, e.g. 'US,CA,GB'")
        return ",".join(countries)

    @field_validator("onboarding_refresh_url", "onboarding_return_url")
    @classmethod
    def _frontend_url(cls, value: str) -> str:
        probe = urlsplit(value.replace("{seller_id}", "seller"))
        if probe.scheme not in ("http", "https") or not probe.netloc:
            raise ValueError("must be an absolute http(s) URL of the frontend")
        return value

    @field_validator("stripe_secret_key")
    @classmethod
    def _stripe_key_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ValueError("must be a Stripe secret or restricted key (sk_test_…, sk_live_…)")
        return value

    @field_validator("stripe_publishable_key")
    @classmethod
    def _publishable_key_shape_and_mode(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.startswith(("pk_test_", "pk_live_")):
            raise ValueError("must be a Stripe publishable key (pk_test_…, pk_live_…)")
        secret = info.data.get("stripe_secret_key")
        # Stripe.js with a test key cannot confirm a live PaymentIntent, nor the reverse: every
        # payment the frontend attempts would fail.
        if secret is not None and value.startswith("pk_live_") != _is_live(secret):
            raise ValueError("must be of the same mode (test or live) as STRIPE_SECRET_KEY")
        return value

    @field_validator("stripe_webhook_secret", "stripe_connect_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("whsec_"):
            raise ValueError("must be a Stripe webhook signing secret (whsec_…)")
        return value

    @field_validator("evidence_content_types")
    @classmethod
    def _media_types(cls, value: str) -> str:
        types = [kind.strip().lower() for kind in value.split(",") if kind.strip()]
        if not types or not all(re.match(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$", kind) for kind in types):
            raise ValueError("must be media types separated by commas, e.g. 'application/pdf,image/png'")
        return ",".join(types)

    @field_validator("notification_url")
    @classmethod
    def _notification_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _charges_at_least_stripe_minimum(self) -> Settings:
        # A card payment below Stripe's minimum is refused by Stripe: the currency's minimum must
        # be known, and a top-up's lower limit may not let one through.
        if not has_minimum_charge(self.platform_currency):
            raise ValueError(
                f"PLATFORM_CURRENCY {self.platform_currency!r} has no minimum charge amount known to the "
                "service (app/domain/charge_minimum.py)"
            )
        minimum = minimum_charge(self.platform_currency)
        if self.topup_min_amount < minimum:
            raise ValueError(
                "TOPUP_MIN_AMOUNT must be at least Stripe's minimum charge, "
                f"{minimum} {self.platform_currency}"
            )
        return self

    @model_validator(mode="after")
    def _notification_secret_with_url(self) -> Settings:
        if self.notification_url and not self.notification_secret:
            raise ValueError("NOTIFICATION_SECRET is required with NOTIFICATION_URL")
        return self

    @property
    def evidence_content_type_set(self) -> frozenset[str]:
        return frozenset(self.evidence_content_types.split(","))

    @property
    def stripe_livemode(self) -> bool:
        return _is_live(self.stripe_secret_key)

    @property
    def seller_country_set(self) -> frozenset[str]:
        return frozenset(self.seller_countries.split(","))


def _is_live(secret_key: SecretStr) -> bool:
    return secret_key.get_secret_value().startswith(("sk_live_", "rk_live_"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    # Required fields come from the environment, which the static signature cannot see.
    return Settings(**{})
