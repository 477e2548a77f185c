"""Double-entry rules: journal entries of moves that conserve money, account naming.

Pure: no I/O. `app.services.ledger` applies entries to MongoDB.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.money import validate_currency
from app.errors import ServiceError

WORLD_PREFIX = "world:"
PLATFORM_PREFIX = "platform:"
MAX_IDEMPOTENCY_KEY_LENGTH = 255


class EntryKind(StrEnum):
    TOPUP = "topup"
    CHECKOUT = "checkout"
    ESCROW_RELEASE = "escrow_release"
    TRANSFER = "transfer"
    REFUND = "refund"
    DISPUTE_LOSS = "dispute_loss"
    PAYOUT = "payout"
    MIGRATION = "migration"
    RESERVE_ADJUSTMENT = "reserve_adjustment"
    STRIPE_FEE = "stripe_fee"
    ADJUSTMENT = "adjustment"


class Accounts:
    """Ledger account names (DESIGN.md 4); each exists once per currency."""

    CARD = "world:card"
    BANK = "world:bank"
    STRIPE_FEES = "world:stripe_fees"
    LEGACY_RESERVE = "world:legacy_reserve"
    # Legacy money that now backs platform obligations paid from the Stripe balance: what the
    # legacy reserve owes the platform's Stripe balance (the platform reserve adjustment).
    RESERVE_FUNDING = "world:legacy_reserve_funding"
    PLATFORM_FEES = "platform:fees"

    @staticmethod
    def buyer_wallet(user_id: str) -> str:
        return f"buyer:{user_id}:wallet"

    @staticmethod
    def buyer_legacy(user_id: str) -> str:
        return f"buyer:{user_id}:legacy"

    @staticmethod
    def escrow(order_id: str, seller_id: str) -> str:
        return f"escrow:{order_id}:{seller_id}"

    @staticmethod
    def seller_pending_transfer(seller_id: str) -> str:
        return f"seller:{seller_id}:pending_transfer"

    @staticmethod
    def seller_connected(seller_id: str) -> str:
        return f"seller:{seller_id}:connected"


def may_go_negative(account: str) -> bool:
    """Money outside the platform (`world:*`: cards, banks, Stripe fees) and the platform's own
    result (`platform:*`: commission earned less Stripe's fees and losses) have no floor: a loss
    is not an overdraft of anyone's money. Every other account is custody, money the platform
    holds for someone (`buyer:*`, `escrow:*`, `seller:*`, and any account not named here), and
    never goes below zero."""
    return account.startswith((WORLD_PREFIX, PLATFORM_PREFIX))


def platform_stripe_balance(balances: Mapping[str, int]) -> int:
    """What the platform's Stripe balance must hold in one currency, from the ledger's balances
    of every account in that currency: the custody held there (wallet top-ups, escrow, releases
    waiting for a transfer) plus the platform's own result, less the legacy money that funds
    some of that custody while it still sits in the legacy reserve (the reserve owes it)."""
    return sum(platform_stripe_share(account, balance) for account, balance in balances.items())


def platform_stripe_share(account: str, balance: int) -> int:
    """What one account's balance adds to the platform's Stripe balance (`platform_stripe_balance`),
    so the sum can be taken over accounts streamed one at a time."""
    return balance * _on_platform_stripe_balance(account)


def _on_platform_stripe_balance(account: str) -> int:
    """+1 for money on the platform's Stripe balance, -1 for what is owed to it, 0 for elsewhere."""
    if account == Accounts.RESERVE_FUNDING:
        return -1
    held_for_others = (
        (account.startswith("buyer:") and account.endswith(":wallet"))
        or account.startswith("escrow:")
        or (account.startswith("seller:") and account.endswith(":pending_transfer"))
    )
    return 1 if held_for_others or account.startswith(PLATFORM_PREFIX) else 0


class LedgerError(ServiceError):
    code = "ledger_error"


class UnbalancedEntry(LedgerError):
    code = "unbalanced_entry"
    status = 422
    title = "The journal entry is not valid"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    status = 409
    title = "Insufficient funds"


class EntryKeyConflict(LedgerError):
    code = "entry_key_conflict"
    status = 409
    title = "A different journal entry already has this key"


@dataclass(frozen=True, slots=True)
class Move:
    source: str
    destination: str
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int or self.amount <= 0:
            raise UnbalancedEntry("every move carries a positive integer amount")
        validate_currency(self.currency)
        if self.source == self.destination:
            raise UnbalancedEntry(f"a move from {self.source} to itself moves nothing")
        if not self.source or not self.destination:
            raise UnbalancedEntry("a move names both accounts")

    def as_document(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "to": self.destination,
            "amount": self.amount,
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A set of moves applied atomically. `key` is its idempotency key and `_id`."""

    key: str
    kind: EntryKind
    moves: tuple[Move, ...]
    refs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise UnbalancedEntry("an entry key is 1 to 255 characters")
        if not self.moves:
            raise UnbalancedEntry("an entry has at least one move")

    def balance_deltas(self) -> dict[tuple[str, str], int]:
        """The net change of each (account, currency); sums to zero per currency by construction."""
        deltas: dict[tuple[str, str], int] = defaultdict(int)
        for move in self.moves:
            deltas[(move.source, move.currency)] -= move.amount
            deltas[(move.destination, move.currency)] += move.amount
        return {k: v for k, v in sorted(deltas.items()) if v != 0}

    def fingerprint(self) -> str:
        """What makes two postings under one key the same entry."""
        body = {
            "kind": str(self.kind),
            "moves": [m.as_document() for m in self.moves],
            "refs": dict(sorted(self.refs.items())),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def entry(key: str, kind: EntryKind, moves: Iterable[Move], **refs: str) -> JournalEntry:
    return JournalEntry(key=key, kind=kind, moves=tuple(moves), refs=refs)
