"""Reconciliation against Stripe: runs comparing Stripe's records with our books through
registered matchers, the discrepancies they find, and their review by an admin."""

from app.services.reconciliation.job import (
    RECONCILIATION_JOB,
    LeaseHeldElsewhere,
    reconcile_due_day,
    reconcile_window,
)
from app.services.reconciliation.matchers.balance_transactions import BalanceTransactionMatcher
from app.services.reconciliation.matchers.legacy_reserve import LegacyReserveMatcher
from app.services.reconciliation.matchers.platform_balance import PlatformBalanceMatcher
from app.services.reconciliation.matchers.stripe_fees import StripeFeeMatcher
from app.services.reconciliation.matchers.topups import TopupMatcher
from app.services.reconciliation.matching import BATCH, MatchContext, Matcher, Tally, batches, found_or_none
from app.services.reconciliation.repository import (
    INDEXES,
    Discrepancy,
    DiscrepancyResolution,
    MatchCounts,
    Page,
    ReconciliationRepository,
    ReconciliationRun,
)
from app.services.reconciliation.review import ReconciliationReview
from app.services.reconciliation.runs import Reconciliation, ReconciliationFailed

__all__ = [
    "BATCH",
    "INDEXES",
    "RECONCILIATION_JOB",
    "BalanceTransactionMatcher",
    "Discrepancy",
    "DiscrepancyResolution",
    "LeaseHeldElsewhere",
    "LegacyReserveMatcher",
    "MatchContext",
    "MatchCounts",
    "Matcher",
    "Page",
    "PlatformBalanceMatcher",
    "Reconciliation",
    "ReconciliationFailed",
    "ReconciliationRepository",
    "ReconciliationReview",
    "ReconciliationRun",
    "StripeFeeMatcher",
    "Tally",
    "TopupMatcher",
    "batches",
    "found_or_none",
    "reconcile_due_day",
    "reconcile_window",
]
