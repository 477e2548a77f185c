"""What payouts need of other domains, each as the narrow question it asks.

The composition root (`app.container`) hands in the domains that answer them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession

from app.db import NamespacedWrite


class DisputeHold(Protocol):
    """A seller's open disputes and chargebacks, and the money at stake in them by currency."""

    @property
    def open_disputes(self) -> int: ...

    @property
    def amounts(self) -> Mapping[str, int]: ...


class GatedStanding(Protocol):
    """A seller's hold and debt in one currency, read in the caller's transaction with their gate;
    `pass_gate` is the write that passes the gate (the caller sends it in that transaction, which
    orders it among every dispute opening on the seller's money), `gate` the count it makes."""

    @property
    def hold(self) -> DisputeHold: ...

    @property
    def owed(self) -> int: ...

    @property
    def gate(self) -> int: ...

    @property
    def pass_gate(self) -> NamespacedWrite: ...


class SellerDisputes(Protocol):
    """Whether a seller has open disputes or chargebacks, for how much, and what they owe."""

    async def hold_of(self, seller_id: str) -> DisputeHold: ...

    async def gated_standing_in(
        self, session: AsyncClientSession, seller_id: str, currency: str
    ) -> GatedStanding: ...

    async def owed_by(self, seller_id: str, currency: str) -> int: ...


@dataclass(frozen=True, slots=True)
class DisputeExposure:
    """A seller's disputes and chargebacks as they weigh on their payouts, in one currency."""

    open_disputes: int = 0  # disputes and chargebacks not settled yet, on any of their orders
    held: int = 0  # what those hold back from the seller
    owed_to_platform: int = 0  # what the seller owes the platform (lost disputes not recovered yet)


async def exposure(disputes: SellerDisputes, seller_id: str, currency: str) -> DisputeExposure:
    hold = await disputes.hold_of(seller_id)
    return DisputeExposure(
        open_disputes=hold.open_disputes,
        held=hold.amounts.get(currency, 0),
        owed_to_platform=await disputes.owed_by(seller_id, currency),
    )


class EscrowHoldings(Protocol):
    """The seller's money still in escrow (orders paid, not released), from the ledger."""

    async def seller_in_escrow(self, seller_id: str, currency: str) -> int: ...
