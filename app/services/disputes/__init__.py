"""Disputes: a buyer's dispute freezing one seller's escrow until an admin resolves it, card
chargebacks mirrored from Stripe and recovered where the money is, evidence, what sellers owe the
platform, and the guard payouts ask before paying a seller out."""

from app.adapters.payment_provider import DisputeEvidence as StripeEvidence
from app.services.disputes.chargebacks import Chargebacks
from app.services.disputes.debts import DisputeHolds, SellerDebts
from app.services.disputes.disputes import Disputes, OpenDispute, Resolution
from app.services.disputes.evidence import EvidenceDownload, EvidenceLimits, EvidenceStore
from app.services.disputes.recovery import RECOVERY_JOB, SellerRecovery, run_recoveries
from app.services.disputes.repository import (
    INDEXES,
    Dispute,
    DisputeFilter,
    DisputePage,
    DisputeShare,
    Evidence,
    GatedStanding,
    SellerHold,
)
from app.services.disputes.webhook_handlers import ChargebackWebhookHandlers

__all__ = [
    "INDEXES",
    "RECOVERY_JOB",
    "ChargebackWebhookHandlers",
    "Chargebacks",
    "Dispute",
    "DisputeFilter",
    "DisputeHolds",
    "DisputePage",
    "DisputeShare",
    "Disputes",
    "Evidence",
    "EvidenceDownload",
    "EvidenceLimits",
    "EvidenceStore",
    "GatedStanding",
    "OpenDispute",
    "Resolution",
    "SellerDebts",
    "SellerHold",
    "SellerRecovery",
    "StripeEvidence",
    "run_recoveries",
]
