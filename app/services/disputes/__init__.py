"""Disputes: a buyer's dispute freezing one seller's escrow until an admin resolves it, card
chargebacks mirrored from Stripe and recovered where the money is, evidence, what sellers owe the
platform, and the guard payouts ask before paying a seller out."""

from app.services.disputes.debts import DisputeHolds, SellerDebts
from app.services.disputes.repository import INDEXES, Dispute, DisputePage, DisputeShare, Evidence, SellerHold

__all__ = [
    "INDEXES",
    "Dispute",
    "DisputeHolds",
    "DisputePage",
    "DisputeShare",
    "Evidence",
    "SellerDebts",
    "SellerHold",
]
