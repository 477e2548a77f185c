"""The wallet's rules: the top-up state machine, and how wallet money is split between the
legacy and platform balances and backed by the legacy reserve. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from app.domain.ledger import Accounts, EntryKind, JournalEntry, Move, entry
from app.errors import ServiceError

TOPUP_PURPOSE = "wallet_topup"


class TopupStatus(StrEnum):
    REQUIRES_PAYMENT = "requires_payment"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    # Paid with another amount or currency, or its PaymentIntent's fate cannot be learnt: an
    # operator decides. It no longer counts as pending.
    NEEDS_REVIEW = "needs_review"


# A failed attempt leaves the PaymentIntent open for another card, so money may still arrive
# after `failed`; only a canceled intent can never succeed.
TRANSITIONS: dict[TopupStatus, frozenset[TopupStatus]] = {
    TopupStatus.REQUIRES_PAYMENT: frozenset(
        {TopupStatus.SUCCEEDED, TopupStatus.FAILED, TopupStatus.CANCELED, TopupStatus.NEEDS_REVIEW}
    ),
    TopupStatus.FAILED: frozenset({TopupStatus.SUCCEEDED, TopupStatus.CANCELED, TopupStatus.NEEDS_REVIEW}),
    TopupStatus.SUCCEEDED: frozenset(),
    TopupStatus.CANCELED: frozenset(),
    TopupStatus.NEEDS_REVIEW: frozenset(),
}


class TopupAlreadyOpened(ServiceError):
    code = "topup_already_opened"
    status = 409
    title = "This top-up was already opened with another amount or currency"


def sources_of(target: TopupStatus) -> list[str]:
    """The statuses a top-up may move to `target` from, for a compare-and-set update."""
    return [str(source) for source, targets in TRANSITIONS.items() if target in targets]


def topup_id_for(user_id: str, idempotency_key: str) -> str:
    """The same request (user and Idempotency-Key) always names the same top-up, even after a crash."""
    digest = hashlib.sha256(f"{user_id}\x1f{idempotency_key}".encode()).hexdigest()
    return f"tu_{digest[:24]}"


def topup_list_key(created_at: datetime, topup_id: str) -> str:
    """Creation time then id as one string: the admin list's order and its cursor in one field."""
    return f"{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}|{topup_id}"


def topup_entry_key(payment_intent_id: str) -> str:
    return f"topup:{payment_intent_id}"


@dataclass(frozen=True, slots=True)
class FundingSplit:
    """How much of an amount came from (or goes back to) each wallet source."""

    legacy: int
    platform: int
    currency: str

    @property
    def total(self) -> int:
        return self.legacy + self.platform


def fill_in_order(legacy: int, platform: int, wanted: Sequence[int], currency: str) -> list[FundingSplit]:
    """Pay each of `wanted` in turn, as far as the wallet goes: legacy money first, then platform
    money. The first amounts are paid in full before a later one gets anything."""
    splits = []
    for amount in wanted:
        from_legacy = min(legacy, amount)
        from_platform = min(platform, amount - from_legacy)
        legacy, platform = legacy - from_legacy, platform - from_platform
        splits.append(FundingSplit(legacy=from_legacy, platform=from_platform, currency=currency))
    return splits


def reserve_adjustment_key(entry_key: str) -> str:
    return f"{entry_key}:reserve"


def reserve_adjustment(key: str, user_id: str, amount: int, currency: str, *, use: bool) -> JournalEntry:
    """Using legacy money moves it from the legacy reserve to what it now funds; a refund moves it back."""
    reserve, funding = Accounts.LEGACY_RESERVE, Accounts.RESERVE_FUNDING
    move = Move(reserve, funding, amount, currency) if use else Move(funding, reserve, amount, currency)
    return entry(reserve_adjustment_key(key), EntryKind.RESERVE_ADJUSTMENT, [move], user=user_id, entry=key)


def split_of_moves(moves: Iterable[Move], user_id: str, currency: str) -> FundingSplit:
    """The split a posted wallet entry recorded, read back from its moves."""
    legacy_account, platform_account = Accounts.buyer_legacy(user_id), Accounts.buyer_wallet(user_id)
    legacy = platform = 0
    for move in moves:
        if legacy_account in (move.source, move.destination):
            legacy += move.amount
        elif platform_account in (move.source, move.destination):
            platform += move.amount
    return FundingSplit(legacy=legacy, platform=platform, currency=currency)
