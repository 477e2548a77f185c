"""`monitoring/alerts.yml` and `monitoring/dashboard.json` read only metrics `/metrics` exports,
and the alerts the service needs are all there."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).resolve().parents[3] / "monitoring"
# PromQL's own words, which look like metric names.
PROMQL_WORDS = frozenset(
    {
        "sum",
        "max",
        "min",
        "avg",
        "count",
        "rate",
        "irate",
        "increase",
        "deriv",
        "histogram_quantile",
        "min_over_time",
        "max_over_time",
        "avg_over_time",
        "clamp_min",
        "time",
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "offset",
    }
)
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created")}
REQUIRED_ALERTS = {
    "PaymentFailureRateHigh",
    "StripeWebhookDeadLetter",
    "StripeWebhookLag",
    "ReconciliationNotRun",
    "ReconciliationDiscrepanciesOpen",
    "PayoutFailures",
    "StripeErrorRateHigh",
}


def metric_names(expression: str) -> set[str]:
    """The metrics a PromQL expression reads: its words, less strings, label matchers, ranges,
    grouping labels, numbers and PromQL's own words."""
    bare = re.sub(r'"[^"]*"', "", expression)
    bare = re.sub(r"\{[^}]*\}", "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare))
    return {word for word in words if word not in PROMQL_WORDS}


def rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return {rule.get("alert") or rule["record"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


async def exported_names(client: httpx.AsyncClient) -> set[str]:
    """Every sample name `/metrics` can show: those it shows, and those its families declare."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(response.text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_rules_hold_every_alert_the_service_needs() -> None:
    assert set(rule_expressions()) >= REQUIRED_ALERTS


def test_expressions_are_read_as_metric_names() -> None:
    expression = (
        'histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{x="y"}[10m]))) > 300 or max(b) > 0'
    )
    assert metric_names(expression) == {"a_seconds_bucket", "b"}


async def test_every_metric_of_the_rules_and_the_dashboard_is_exported(client: httpx.AsyncClient) -> None:
    exported = await exported_names(client)
    recorded = {name for name in rule_expressions() if ":" in name}
    read = {
        name
        for expression in [*rule_expressions().values(), *dashboard_expressions()]
        for name in metric_names(expression)
    }

    assert read, "the monitoring files read metrics"
    assert read - recorded <= exported, f"not exported by /metrics: {sorted(read - recorded - exported)}"


async def test_the_metrics_other_domains_count_into_are_exported_at_zero(client: httpx.AsyncClient) -> None:
    families = {
        family.name: family for family in text_string_to_metric_families((await client.get("/metrics")).text)
    }

    payouts = {
        sample.labels["status"]: sample.value
        for sample in families["payments_payouts"].samples
        if sample.name.endswith("_total")
    }
    checkouts = {sample.labels["outcome"] for sample in families["payments_checkouts"].samples}
    assert payouts.keys() >= {"paid", "failed"}
    assert checkouts >= {"paid", "canceled"}
    assert families["payments_escrow_held_minor_units"].samples[0].labels == {"currency": "usd"}
    assert families["payments_pending_transfers_minor_units"].samples[0].labels == {"currency": "usd"}
