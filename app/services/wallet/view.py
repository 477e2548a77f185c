"""What a buyer sees of their wallet: both balances and the history of both.

Routed by the `wallet_v2` flag: a user with it sees the new wallet (the legacy and platform
balances together), migrated first when `legacy_migration` is on for them too; a user without it
sees the legacy balance alone, read from the legacy data as the legacy system holds it. A read
never fails for the legacy wallet's sake: one that cannot be migrated shows `invalid` and why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from app.domain.audit import Actor
from app.domain.ledger import Accounts
from app.domain.migration import LegacyWalletStatus, RejectionReason
from app.services.flags import FeatureFlags, Flag
from app.services.ledger import Ledger, Posting
from app.services.migration import LegacyMigration, LegacyWalletChanged
from app.services.wallet.topups import Topups

log = structlog.get_logger(__name__)


class WalletFlow(StrEnum):
    LEGACY = "legacy"
    V2 = "v2"


@dataclass(frozen=True, slots=True)
class WalletSummary:
    currency: str
    legacy_balance: int
    platform_balance: int
    pending_topups: int
    legacy_wallet_status: LegacyWalletStatus
    legacy_wallet_reason: RejectionReason | None
    flow: WalletFlow

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
    def __init__(
        self, ledger: Ledger, migration: LegacyMigration, topups: Topups, flags: FeatureFlags, currency: str
    ) -> None:
        self._ledger = ledger
        self._migration = migration
        self._topups = topups
        self._flags = flags
        self._currency = currency

    async def summary(self, user_id: str) -> WalletSummary:
        """The wallet the user's flags give them."""
        if not await self._flags.is_on(Flag.WALLET_V2, user_id):
            return await self._legacy_summary(user_id)
        if await self._flags.is_on(Flag.LEGACY_MIGRATION, user_id):
            await self._migrate_first(user_id)
        return await self._summary(user_id)

    async def _summary(self, user_id: str) -> WalletSummary:
        """Three reads, sent together: the legacy wallet, both balances, the pending top-ups."""
        legacy, platform = Accounts.buyer_legacy(user_id), Accounts.buyer_wallet(user_id)
        state, balances, pending = await asyncio.gather(
            self._migration.legacy_state(user_id),
            self._ledger.balances([legacy, platform], self._currency),
            self._topups.pending_amount(user_id, self._currency),
        )
        return WalletSummary(
            currency=self._currency,
            # Not yet migrated (or credited by the legacy system since the migration) shows beside
            # what was migrated; the next spend migrates it first. An invalid one shows nothing.
            legacy_balance=balances[legacy] + state.unmigrated,
            platform_balance=balances[platform],
            pending_topups=pending,
            legacy_wallet_status=state.status,
            legacy_wallet_reason=state.reason,
            flow=WalletFlow.V2,
        )

    async def _legacy_summary(self, user_id: str) -> WalletSummary:
        """The legacy balance alone, as the legacy data holds it: one read (none once settled)."""
        state = await self._migration.legacy_state(user_id)
        return WalletSummary(
            currency=self._currency,
            legacy_balance=state.unmigrated,
            platform_balance=0,
            pending_topups=0,
            legacy_wallet_status=state.status,
            legacy_wallet_reason=state.reason,
            flow=WalletFlow.LEGACY,
        )

    async def _migrate_first(self, user_id: str) -> None:
        try:
            await self._migration.migrate_user(user_id, Actor.user(user_id))
        except LegacyWalletChanged:
            # The legacy system wrote the document meanwhile: show it as it is, migrate next time.
            log.warning("legacy_wallet_changed_during_read", migrated_user=user_id)

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
