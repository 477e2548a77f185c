"""Disputes: a buyer's dispute freezing one seller's escrow until an admin resolves it, card
chargebacks mirrored from Stripe and recovered where the money is, evidence, what sellers owe the
platform, and the guard payouts ask before paying a seller out."""

from app.services.disputes.debts import DisputeHolds, SellerDebts
from app.services.disputes.disputes import Disputes, OpenDispute, Resolution
from app.services.disputes.evidence import EvidenceDownload, EvidenceLimits, EvidenceStore
from app.services.disputes.repository import INDEXES, Dispute, DisputePage, DisputeShare, Evidence, SellerHold

__all__ = [
    "INDEXES",
    "Dispute",
    "DisputeHolds",
    "DisputePage",
    "DisputeShare",
    "Disputes",
    "Evidence",
    "EvidenceDownload",
    "EvidenceLimits",
    "EvidenceStore",
    "OpenDispute",
    "Resolution",
    "SellerDebts",
    "SellerHold",
]
