"""What payouts need of other domains, each as the narrow question it asks.

The composition root (`app.container`) hands in the domains that answer them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DisputeExposure:
    """A seller's disputes and chargebacks as they weigh on their payouts, in one currency."""

    open_disputes: int = 0  # disputes and chargebacks not settled yet, on any of their orders
    held: int = 0  # what those hold back from the seller
    owed_to_platform: int = 0  # what the seller owes the platform (lost disputes not recovered yet)


NO_EXPOSURE = DisputeExposure()


class SellerDisputes(Protocol):
    """Whether a seller has open disputes or chargebacks, and for how much."""

    async def exposure(self, seller_id: str, currency: str) -> DisputeExposure: ...


class NoDisputes:
    """The answer while no domain tracks disputes: none, nothing held, nothing owed."""

    async def exposure(self, seller_id: str, currency: str) -> DisputeExposure:
        return NO_EXPOSURE


class EscrowHoldings(Protocol):
    """The seller's money still in escrow (orders paid, not released), from the ledger."""

    async def seller_in_escrow(self, seller_id: str, currency: str) -> int: ...
