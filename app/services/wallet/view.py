"""What a buyer sees of their wallet: both balances and the history of both."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from app.domain.ledger import Accounts
from app.domain.migration import LegacyWalletStatus
from app.services.ledger import Ledger, Posting
from app.services.migration import LegacyMigration, LegacyState
from app.services.wallet.topups import Topups


@dataclass(frozen=True, slots=True)
class WalletSummary:
    currency: str
    legacy_balance: int
    platform_balance: int
    pending_topups: int
    legacy_wallet_status: LegacyWalletStatus

    @property
    def total_balance(self) -> int:
        return self.legacy_balance + self.platform_balance


@dataclass(frozen=True, slots=True)
class WalletLine:
    id: str
    source: str
    kind: str
    amount: int
    currency: str
    balance_after: int
    refs: dict[str, str]
    created_at: datetime


class WalletView:
    def __init__(self, ledger: Ledger, migration: LegacyMigration, topups: Topups, currency: str) -> None:
        self._ledger = ledger
        self._migration = migration
        self._topups = topups
        self._currency = currency

    async def summary(self, user_id: str) -> WalletSummary:
        """Three reads, sent together: the legacy wallet, both balances, the pending top-ups."""
        legacy, platform = Accounts.buyer_legacy(user_id), Accounts.buyer_wallet(user_id)
        state, balances, pending = await asyncio.gather(
            self._migration.legacy_state(user_id),
            self._ledger.balances([legacy, platform], self._currency),
            self._topups.pending_amount(user_id, self._currency),
        )
        return WalletSummary(
            currency=self._currency,
            legacy_balance=self._legacy_balance(state, balances[legacy]),
            platform_balance=balances[platform],
            pending_topups=pending,
            legacy_wallet_status=self._legacy_status(state),
        )

    def _legacy_balance(self, state: LegacyState, migrated: int) -> int:
        if state.status is LegacyWalletStatus.MIGRATED:
            # Credited by the legacy system since the migration: the next spend migrates it first.
            return migrated + state.unmigrated
        if state.currency != self._currency:
            return 0
        # An invalid legacy balance shows as nothing to spend until an operator fixes the record.
        return state.unmigrated

    def _legacy_status(self, state: LegacyState) -> LegacyWalletStatus:
        if state.status is not LegacyWalletStatus.MIGRATED and state.currency != self._currency:
            return LegacyWalletStatus.NONE
        return state.status

    async def lines(
        self, user_id: str, *, limit: int, starting_after: str | None
    ) -> tuple[list[WalletLine], bool]:
        """Both wallet accounts' postings, newest first, and whether more follow."""
        sources = {Accounts.buyer_legacy(user_id): "legacy", Accounts.buyer_wallet(user_id): "platform"}
        postings, has_more = await self._ledger.statement(
            list(sources), self._currency, limit=limit, starting_after=starting_after
        )
        return [_line(posting, sources[posting.account]) for posting in postings], has_more


def _line(posting: Posting, source: str) -> WalletLine:
    # Wallet accounts always keep a balance document, so every posting has its balance after.
    assert posting.balance_after is not None
    return WalletLine(
        id=posting.id,
        source=source,
        kind=posting.kind,
        amount=posting.amount,
        currency=posting.currency,
        balance_after=posting.balance_after,
        refs=posting.refs,
        created_at=posting.created_at,
    )
