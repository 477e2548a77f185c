"""The service's business metrics for Prometheus, beside the request metrics
(`app.observability`), the webhook pipeline's (`app.services.webhooks.metrics`), Stripe calls'
(`app.adapters.stripe_metrics`), top-ups' and reconciliation runs'.

Gauges of what stands now (money in escrow, dead letters, open discrepancies...) are read from
MongoDB when `/metrics` is scraped (`OperationsFigures.export`), so every replica reports the same
figures and a replica that just started reports them too. Counters of events (payment outcomes,
payouts, checkouts) count in the process where the event happens; sum them across replicas.

`PAYOUTS` and `CHECKOUTS` are defined here, with the names the alert rules and the dashboard use,
for the payouts and checkout domains to count into (CONVENTIONS.md, "Metrics").
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ESCROW_HELD = Gauge(
    "payments_escrow_held_minor_units",
    "Money held in escrow (the `escrow:*` accounts), minor units, by currency",
    ["currency"],
)
PENDING_TRANSFERS = Gauge(
    "payments_pending_transfers_minor_units",
    "Money released to sellers and waiting for its transfer (`seller:*:pending_transfer`), minor units",
    ["currency"],
)
DEAD_LETTERS = Gauge("payments_webhook_dead_letters", "Stripe events in dead_letter, waiting for an admin")
OLDEST_DUE_AGE = Gauge(
    "payments_webhook_oldest_due_age_seconds",
    "How long the Stripe event waiting longest for processing has been due (0 when none is due)",
)
TOPUPS_NEEDING_REVIEW = Gauge(
    "payments_topups_needing_review", "Top-ups in needs_review, waiting for an operator"
)
OPEN_DISCREPANCIES = Gauge(
    "payments_reconciliation_open_discrepancies", "Discrepancies found by reconciliation and not reviewed yet"
)
LAST_RECONCILIATION = Gauge(
    "payments_reconciliation_last_success_timestamp_seconds",
    "When the last successful reconciliation run finished (Unix time; 0 before the first)",
)
PAYMENT_INTENTS = Counter(
    "payments_payment_intents",
    "Outcomes of the platform's PaymentIntents as Stripe reports them, by purpose (wallet_topup, "
    "checkout) and outcome (succeeded, failed, canceled)",
    ["purpose", "outcome"],
)
PAYOUTS = Counter(
    "payments_payouts",
    "Payouts to sellers by the status they reached: requested, pending, in_transit, paid, failed, canceled",
    ["status"],
)
CHECKOUTS = Counter(
    "payments_checkouts",
    "Orders by outcome: paid (by the wallet at once), awaiting_payment (card), paid_by_card (later), "
    "canceled (unpaid, or the card payment failed)",
    ["outcome"],
)

PAYMENT_INTENT_OUTCOMES = ("succeeded", "failed", "canceled")
PAYMENT_PURPOSES = ("wallet_topup", "checkout")
PAYOUT_STATUSES = ("requested", "pending", "in_transit", "paid", "failed", "canceled")
CHECKOUT_OUTCOMES = ("paid", "awaiting_payment", "paid_by_card", "canceled")

# Every series the rules and the dashboard read exists from the start, at zero.
for _purpose in PAYMENT_PURPOSES:
    for _outcome in PAYMENT_INTENT_OUTCOMES:
        PAYMENT_INTENTS.labels(_purpose, _outcome)
for _status in PAYOUT_STATUSES:
    PAYOUTS.labels(_status)
for _outcome in CHECKOUT_OUTCOMES:
    CHECKOUTS.labels(_outcome)
