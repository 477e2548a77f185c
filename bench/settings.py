"""The service's settings for a benchmark run: a database of its own, quiet logs, no background work."""

from __future__ import annotations

from app.config import Settings

WEBHOOK_SECRET = "whsec_bench"
JWT_SECRET = "bench-secret-that-is-long-enough-0123456789"
STRIPE_KEY = "sk_test_emulator"


def bench_settings(uri: str, database: str, stripe_api_base: str = "http://127.0.0.1:9") -> Settings:
    return Settings(
        _env_file=None,
        mongodb_uri=uri,
        mongodb_database=database,
        stripe_secret_key=STRIPE_KEY,
        stripe_api_base=stripe_api_base,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_connect_webhook_secret="whsec_bench_connect",
        jwt_secret=JWT_SECRET,
        log_level="ERROR",
        webhook_worker_enabled=False,
        jobs_enabled=False,
    )
