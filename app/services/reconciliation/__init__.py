"""Reconciliation against Stripe: runs comparing Stripe's records with our books through
registered matchers, the discrepancies they find, and their review by an admin."""

from app.services.reconciliation.drift import BalanceDrifts
from app.services.reconciliation.job import (
    RECONCILIATION_JOB,
    LeaseHeldElsewhere,
    reconcile_due_day,
    reconcile_window,
)
from app.services.reconciliation.matchers.balance_transactions import BalanceTransactionMatcher
from app.services.reconciliation.matchers.checkouts import CheckoutMatcher
from app.services.reconciliation.matchers.disputes import DisputeMatcher
from app.services.reconciliation.matchers.legacy_reserve import LegacyReserveMatcher
from app.services.reconciliation.matchers.payouts import PayoutMatcher
from app.services.reconciliation.matchers.platform_balance import PlatformBalanceMatcher
from app.services.reconciliation.matchers.refunds import RefundMatcher
from app.services.reconciliation.matchers.stripe_fees import StripeFeeMatcher
from app.services.reconciliation.matchers.topups import TopupMatcher
from app.services.reconciliation.matchers.transfer_reversals import TransferReversalMatcher
from app.services.reconciliation.matchers.transfers import TransferMatcher
from app.services.reconciliation.matching import (
    BATCH,
    Finding,
    MatchContext,
    Matcher,
    Tally,
    batches,
    found_or_none,
)
from app.services.reconciliation.repository import (
    INDEXES,
    Discrepancy,
    DiscrepancyResolution,
    MatchCounts,
    Page,
    ReconciliationRepository,
    ReconciliationRun,
    Supersession,
)
from app.services.reconciliation.review import ReconciliationReview
from app.services.reconciliation.runs import Reconciliation, ReconciliationFailed

__all__ = [
    "BATCH",
    "INDEXES",
    "RECONCILIATION_JOB",
    "BalanceDrifts",
    "BalanceTransactionMatcher",
    "CheckoutMatcher",
    "Discrepancy",
    "DiscrepancyResolution",
    "DisputeMatcher",
    "Finding",
    "LeaseHeldElsewhere",
    "LegacyReserveMatcher",
    "MatchContext",
    "MatchCounts",
    "Matcher",
    "Page",
    "PayoutMatcher",
    "PlatformBalanceMatcher",
    "Reconciliation",
    "ReconciliationFailed",
    "ReconciliationRepository",
    "ReconciliationReview",
    "ReconciliationRun",
    "RefundMatcher",
    "StripeFeeMatcher",
    "Supersession",
    "Tally",
    "TopupMatcher",
    "TransferMatcher",
    "TransferReversalMatcher",
    "batches",
    "found_or_none",
    "reconcile_due_day",
    "reconcile_window",
]
