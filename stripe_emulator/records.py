"""The emulator's own bookkeeping beside Stripe's objects: what Stripe knows about an account's
verification, the account links it handed out, and work it will finish later."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AccountState:
    """What Stripe knows about a connected account, from which the account object is derived."""

    onboarded: bool = False
    """Onboarding completed (the account link's form, or the verify control): details submitted."""
    individual: set[str] = field(default_factory=set)
    """`individual.*` requirement fields provided (kept here: the account object omits them)."""
    in_review: set[str] = field(default_factory=set)
    """Requirement fields submitted and under review: `pending_verification`."""
    requested: dict[str, float] = field(default_factory=dict)
    """Further requirement fields asked for, with the deadline (emulator time) to provide them."""
    future: dict[str, float] = field(default_factory=dict)
    """Requirements taking effect at a future date: `future_requirements` until then."""
    rejected: str | None = None
    """Why Stripe rejected the account (`fraud`, `terms_of_service`, `listed`, `other`)."""
    capabilities_requested_at: dict[str, int] = field(default_factory=dict)


@dataclass
class AccountLink:
    account: str
    refresh_url: str | None
    return_url: str | None
    expires_at: int
    visited: bool = False
    used: bool = False
    expired: bool = False


@dataclass
class PendingWork:
    """Stripe's asynchronous work in flight, by object id, with the (emulator) time it is due."""

    charge_balance_transactions: dict[str, float] = field(default_factory=dict)
    refund_outcomes: dict[str, float] = field(default_factory=dict)

    def clear(self) -> None:
        self.charge_balance_transactions.clear()
        self.refund_outcomes.clear()
