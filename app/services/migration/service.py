"""Moving legacy wallet balances into the ledger, one user at a time, exactly once.

The legacy documents themselves say how a user stands (absent, not migrated, migrated), so one
indexed read of them answers a wallet operation, and none at all once the answer is settled (no
legacy wallet, or migrated with nothing left: `settled.py`); a transaction is opened only when
there is something to migrate. A wallet that cannot be migrated (`validate_legacy_wallet`, the
same rules as the bulk run) is `invalid`, with its reason, and is left as it is: reading or
spending still works, without that legacy money.

The legacy system keeps running during the rollout and may still credit a migrated (zeroed)
document, a legacy refund for instance. Such money is migrated too, at the first wallet
operation that sees it (`settled.py` says when), as its own entry keyed by its place among the
late credits (`migration:{user}:late:{n}`), and listed in the user's migration record.

The writes are `MigrationWriter`'s, the bulk run's code path, for a batch of one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge
from app.db import Database
from app.domain.audit import Actor
from app.domain.migration import (
    InvalidLegacyBalance,
    LegacyWalletStatus,
    RejectionReason,
    currency_key,
    legacy_currency,
    to_minor_units,
    validate_legacy_wallet,
)
from app.services.audit import AuditLog
from app.services.ledger import Ledger
from app.services.migration.repository import LegacyWalletRecord, MigrationRepository, RecordStatus
from app.services.migration.settled import SettledAnswers
from app.services.migration.writer import LateCredit, MigrationResult, MigrationWriter, Opening

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LegacyState:
    """How a user's legacy wallet stands now; `unmigrated` is what is still only in the legacy
    document (minor units of `currency`); `reason` says why an `invalid` one cannot be migrated."""

    status: LegacyWalletStatus
    currency: str | None
    unmigrated: int = 0
    reason: RejectionReason | None = None


class LegacyMigration:
    def __init__(
        self,
        database: Database,
        ledger: Ledger,
        bridge: LegacyWalletBridge,
        audit: AuditLog,
        *,
        platform_currency: str,
        recheck: timedelta,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._bridge = bridge
        self._currency = platform_currency
        self._records = MigrationRepository(database)
        self._writer = MigrationWriter(ledger, bridge, self._records, audit)
        # Users found with nothing to migrate: not looked up again for `recheck` (see settled.py).
        self._settled: SettledAnswers[MigrationResult] = SettledAnswers(recheck, clock)
        # Users the marketplace was found to know, for showing a legacy wallet: one read fewer per
        # `GET /wallet` until it is migrated. Only shown state relies on it; a migration asks again.
        self._known_users: SettledAnswers[bool] = SettledAnswers(recheck, clock)

    async def record(self, user_id: str) -> LegacyWalletRecord | None:
        """What was migrated of the user's legacy wallet, for reports."""
        return await self._records.get(user_id)

    async def legacy_state(self, user_id: str) -> LegacyState:
        """How the user's legacy wallet stands, read without migrating anything."""
        settled = self._settled.get(user_id)
        if settled is not None:
            return LegacyState(settled.status, settled.currency)
        wallets = await self._bridge.lookup(user_id)
        if not wallets:
            self._settled.remember(user_id, MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None))
            return LegacyState(LegacyWalletStatus.NONE, None)
        if len(wallets) == 1 and wallets[0].migrated:
            wallet = wallets[0]
            credited_since = self._credited_since(wallet)
            if not credited_since:
                self._settled.remember(user_id, self._migrated(user_id, wallet))
            return LegacyState(LegacyWalletStatus.MIGRATED, currency_key(wallet.raw_currency), credited_since)
        judged = await self._judge(user_id, wallets, known=await self._shown_user_known(user_id))
        if isinstance(judged, MigrationResult):
            return LegacyState(judged.status, judged.currency, reason=judged.reason)
        return LegacyState(LegacyWalletStatus.NOT_MIGRATED, self._currency, judged.valid.amount.minor_units)

    async def migrate_user(self, user_id: str, actor: Actor, *, fresh: bool = False) -> MigrationResult:
        """Move the user's legacy balance into `buyer:{user}:legacy`; a repeat changes nothing.
        `fresh` looks the legacy wallet up even if the last answer is settled."""
        settled = None if fresh else self._settled.get(user_id)
        if settled is not None:
            return settled
        result = await self._migrate(user_id, actor)
        if result.status in (LegacyWalletStatus.NONE, LegacyWalletStatus.MIGRATED):
            self._settled.remember(user_id, result)  # none, or migrated with nothing left: settled
        return result

    async def migrate_now(self, user_id: str, actor: Actor) -> MigrationResult:
        """An admin's migration of one user, now: `migrate_user` looking the wallet up afresh; a
        wallet that cannot be migrated raises InvalidLegacyBalance (nothing changes)."""
        result = await self.migrate_user(user_id, actor, fresh=True)
        if result.status is LegacyWalletStatus.INVALID:
            assert result.reason is not None
            raise InvalidLegacyBalance(result.detail or result.reason.value, result.reason)
        return result

    async def _migrate(self, user_id: str, actor: Actor) -> MigrationResult:
        wallets = await self._bridge.lookup(user_id)
        if not wallets:
            return MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None)
        if len(wallets) == 1 and wallets[0].migrated and not self._credited_since(wallets[0]):
            return self._migrated(user_id, wallets[0])
        if not (len(wallets) == 1 and wallets[0].migrated):
            judged = await self._judge(user_id, wallets)
            if isinstance(judged, MigrationResult):
                return judged  # cannot be migrated: no transaction
        try:
            return await self._db.transaction(lambda session: self._migrate_in(session, user_id, actor))
        except DuplicateKeyError:
            # Another request migrated the same money between our read and our transaction.
            wallets = await self._bridge.lookup(user_id)
            if len(wallets) != 1 or not wallets[0].migrated:
                raise
            return self._migrated(user_id, wallets[0])

    async def _migrate_in(self, session: AsyncClientSession, user_id: str, actor: Actor) -> MigrationResult:
        wallets = await self._bridge.read(user_id, session)
        if not wallets:
            return MigrationResult(user_id, LegacyWalletStatus.NONE, 0, None)
        if len(wallets) == 1 and wallets[0].migrated:
            return await self._migrate_late_in(session, user_id, wallets[0], actor)
        judged = await self._judge(user_id, wallets, session)
        if isinstance(judged, MigrationResult):
            return judged
        [result] = await self._writer.write(session, [judged], [], actor)
        return result

    async def _migrate_late_in(
        self, session: AsyncClientSession, user_id: str, wallet: LegacyWallet, actor: Actor
    ) -> MigrationResult:
        amount = self._credited_since(wallet)
        if not amount:
            return self._migrated(user_id, wallet)
        record = await self._records.get(user_id, session)
        if record is None or record.status is RecordStatus.ROLLED_BACK:
            raise LookupError(
                f"the legacy wallet of {user_id} is marked migrated but has no migration record"
            )
        late = LateCredit(wallet, user_id, amount, record.currency, record)
        [result] = await self._writer.write(session, [], [late], actor)
        return result

    async def _shown_user_known(self, user_id: str) -> bool:
        if self._known_users.get(user_id):
            return True
        known = user_id in await self._bridge.known_users([user_id])
        if known:
            self._known_users.remember(user_id, True)
        return known

    async def _judge(
        self,
        user_id: str,
        wallets: list[LegacyWallet],
        session: AsyncClientSession | None = None,
        *,
        known: bool | None = None,
    ) -> MigrationResult | Opening:
        """An unmigrated wallet judged by the migration's rules: the opening to write, or why not.
        With a session (in the migration's transaction), a rolled-back record to reopen is read.
        `known`: whether the marketplace knows the user, when already found; else asked now."""
        wallet = wallets[0]
        if known is None:
            known = user_id in await self._bridge.known_users([user_id])
        try:
            valid = validate_legacy_wallet(
                wallet.facts(copies=len(wallets), user_known=known), self._currency
            )
        except InvalidLegacyBalance as exc:
            currency = currency_key(wallet.raw_currency)
            return MigrationResult(user_id, LegacyWalletStatus.INVALID, 0, currency, exc.reason, exc.detail)
        if session is None:
            return Opening(wallet, valid)
        previous = await self._records.get(user_id, session)
        if previous is not None and previous.status is not RecordStatus.ROLLED_BACK:
            raise LookupError(f"{user_id} has a migration record but an unmigrated legacy wallet")
        return Opening(wallet, valid, previous)

    def _credited_since(self, wallet: LegacyWallet) -> int:
        """What the legacy system credited to a migrated wallet since (minor units); 0 if nothing,
        or if the amount cannot be represented (an operator must look: it is logged)."""
        try:
            return to_minor_units(
                wallet.raw_balance, legacy_currency(wallet.raw_currency, self._currency)
            ).minor_units
        except InvalidLegacyBalance as exc:
            log.error("legacy_wallet_credit_unreadable", migrated_user=wallet.user_id, detail=exc.detail)
            return 0

    @staticmethod
    def _migrated(user_id: str, wallet: LegacyWallet) -> MigrationResult:
        return MigrationResult(
            user_id,
            LegacyWalletStatus.MIGRATED,
            wallet.migrated_minor_units,
            currency_key(wallet.raw_currency),
        )
