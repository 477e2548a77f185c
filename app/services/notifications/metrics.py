"""Prometheus metrics of admin notifications."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS = Counter("admin_notifications_total", "Admin notifications created, by kind", ["kind"])
DELIVERIES = Counter(
    "admin_notifications_delivered_total", "Admin notifications POSTed to the notification URL"
)
