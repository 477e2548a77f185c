"""What a buyer sees of their wallet: both balances and the history of both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.ledger import Accounts
from app.domain.migration import LegacyWalletStatus
from app.services.ledger import Ledger, Posting
from app.services.migration import LegacyMigration
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
        legacy_balance, status = await self._legacy_balance(user_id)
        return WalletSummary(
            currency=self._currency,
            legacy_balance=legacy_balance,
            platform_balance=await self._ledger.balance(Accounts.buyer_wallet(user_id), self._currency),
            pending_topups=await self._topups.pending_amount(user_id, self._currency),
            legacy_wallet_status=status,
        )

    async def _legacy_balance(self, user_id: str) -> tuple[int, LegacyWalletStatus]:
        state = await self._migration.legacy_state(user_id)
        if state.status is LegacyWalletStatus.MIGRATED:
            balance = await self._ledger.balance(Accounts.buyer_legacy(user_id), self._currency)
            # Credited by the legacy system since the migration: the next spend migrates it first.
            return balance + state.unmigrated, LegacyWalletStatus.MIGRATED
        if state.currency != self._currency:
            return 0, LegacyWalletStatus.NONE
        # An invalid legacy balance shows as nothing to spend until an operator fixes the record.
        return state.unmigrated, state.status

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
