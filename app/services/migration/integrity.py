"""A run's integrity checks, against the ledger and the legacy data as they are now:

- `totals_reconcile`: per currency, the exact legacy total of the snapshot equals what the run
  migrated plus what it rejected plus what it found already migrated, and it judged every
  wallet of the snapshot;
- `per_user_amounts`: every record of the run agrees with its ledger entry and its legacy
  document (what was migrated, in minor units and as the legacy system held it, type included),
  and the run's entries add up to what it posted; a rolled-back record's document is back
  exactly as it was (byte for byte) and its reversing entry exists;
- `ledger_conservation`: every currency's postings sum to zero;
- `legacy_checksum`: the legacy data, with the run's own changes undone in thought, has the
  snapshot's checksum: nothing else changed it (a legacy credit since shows here).

Memory does not grow with the run: records and legacy documents are read a page at a time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import bson

from app.adapters.legacy_wallet_bridge import LegacyWallet, LegacyWalletBridge
from app.domain.ledger import Accounts
from app.domain.migration import (
    Checksum,
    InvalidLegacyBalance,
    Outcome,
    Snapshot,
    Tally,
    reconcile,
    rollback_entry_key,
    to_minor_units,
    typed_text,
)
from app.services.ledger import JournalEntryRecord, Ledger
from app.services.migration.repository import LegacyWalletRecord, MigrationRepository, RecordStatus
from app.services.migration.run_repository import MigrationRun

PAGE = 500
# Problems listed per check; the count says how many there are in all.
LISTED_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class IntegrityCheck:
    name: str
    ok: bool
    detail: str
    problems: tuple[str, ...] = ()

    def as_document(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "problems": list(self.problems)}


@dataclass
class Findings:
    count: int = 0
    listed: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        self.count += 1
        if len(self.listed) < LISTED_PROBLEMS:
            self.listed.append(problem)


class IntegrityChecker:
    def __init__(
        self, ledger: Ledger, bridge: LegacyWalletBridge, records: MigrationRepository, platform_currency: str
    ) -> None:
        self._ledger = ledger
        self._bridge = bridge
        self._records = records
        self._currency = platform_currency

    async def check(self, run: MigrationRun, tally: Tally) -> list[IntegrityCheck]:
        return [
            _totals(run.snapshot, tally),
            await self._per_user(run, tally),
            await self._conservation(),
            await self._checksum(run),
        ]

    async def _per_user(self, run: MigrationRun, tally: Tally) -> IntegrityCheck:
        findings, posted = Findings(), Counter[str]()
        checked = 0
        async for page in self._records.of_run(run.id, batch_size=PAGE):
            keys = [key for record in page for key in _entry_keys(record)]
            entries, read = await asyncio.gather(
                self._ledger.entries(keys), self._bridge.read_ids([r.legacy_id for r in page])
            )
            wallets = {wallet.id: wallet for wallet in read}
            for record in page:
                posted[record.currency] += record.amount
                self._check_record(record, wallets.get(record.legacy_id), entries, findings)
            checked += len(page)
        expected = {currency: amount for currency, amount in tally.posted.items() if amount}
        if {currency: amount for currency, amount in posted.items() if amount} != expected:
            findings.add(f"the run's records add up to {dict(posted)}; it posted {expected}")
        return IntegrityCheck(
            "per_user_amounts",
            findings.count == 0,
            f"{checked} migrated users checked against the ledger and the legacy data: "
            f"{findings.count} problems",
            tuple(findings.listed),
        )

    def _check_record(
        self,
        record: LegacyWalletRecord,
        wallet: LegacyWallet | None,
        entries: dict[str, JournalEntryRecord],
        findings: Findings,
    ) -> None:
        user = record.user_id
        if wallet is None:
            findings.add(f"{user}: the legacy document is gone")
            return
        if record.status is RecordStatus.ROLLED_BACK:
            if record.original_document is None or bson.encode(wallet.document) != bson.encode(
                record.original_document
            ):
                findings.add(f"{user}: rolled back, but the legacy document is not as it was")
            if record.amount and rollback_entry_key(user, record.generation) not in entries:
                findings.add(f"{user}: rolled back without a reversing entry")
            return
        if record.amount and _credited(entries.get(record.entry_id or "")) != record.amount:
            findings.add(f"{user}: the ledger entry does not move the {record.amount} recorded")
        if not wallet.migrated or wallet.migrated_minor_units != record.migrated_total:
            findings.add(f"{user}: the legacy document does not say {record.migrated_total} was migrated")
        migrated_amount = wallet.document.get("migratedAmount")
        if typed_text(migrated_amount) != typed_text(record.original_balance):
            findings.add(f"{user}: the legacy document's migrated amount differs from the original balance")
        try:
            exact = to_minor_units(record.original_balance, record.currency).minor_units
        except InvalidLegacyBalance:
            exact = None
        if exact != record.amount:
            findings.add(f"{user}: {typed_text(record.original_balance)} is not {record.amount} minor units")

    async def _conservation(self) -> IntegrityCheck:
        totals = await self._ledger.totals_by_currency()
        unbalanced = {currency: total for currency, total in totals.items() if total}
        return IntegrityCheck(
            "ledger_conservation",
            not unbalanced,
            "every currency's postings sum to zero"
            if not unbalanced
            else f"postings do not sum to zero: {unbalanced}",
            tuple(f"{currency}: {total}" for currency, total in unbalanced.items()),
        )

    async def _checksum(self, run: MigrationRun) -> IntegrityCheck:
        users = frozenset(run.users) if run.users is not None else None
        before = Checksum()
        count = 0
        async for wallet in self._bridge.stream(batch_size=PAGE):
            if users is None or wallet.user_id in users:
                before.add(wallet.raw_user_id, _balance_before(wallet, run.id))
                count += 1
        same = before.hex() == run.snapshot.checksum.hex() and count == run.snapshot.count
        return IntegrityCheck(
            "legacy_checksum",
            same,
            f"{count} legacy wallets, the run's changes undone, "
            + ("match the snapshot" if same else f"differ from the snapshot of {run.snapshot.count}"),
        )


def _totals(snapshot: Snapshot, tally: Tally) -> IntegrityCheck:
    reconciliation = reconcile(snapshot, tally)
    problems = [
        f"{r.currency}: legacy {r.legacy} != migrated {r.migrated} + rejected {r.rejected} "
        f"+ already migrated {r.already_migrated}"
        for r in reconciliation
        if not r.holds
    ]
    judged = sum(tally.counts.get(outcome.value, 0) for outcome in Outcome)
    if judged != snapshot.count:
        problems.append(f"{judged} wallets judged, the snapshot has {snapshot.count}")
    unparseable = tally.counts.get("unparseable", 0)
    if unparseable != snapshot.unparseable:
        problems.append(f"{unparseable} unparseable amounts, the snapshot has {snapshot.unparseable}")
    return IntegrityCheck(
        "totals_reconcile",
        not problems,
        "per currency, legacy total = migrated + rejected + already migrated, to the cent"
        if not problems
        else "the totals do not reconcile",
        tuple(problems),
    )


def _entry_keys(record: LegacyWalletRecord) -> list[str]:
    keys = [record.entry_id] if record.entry_id else []
    if record.status is RecordStatus.ROLLED_BACK and record.amount:
        keys.append(rollback_entry_key(record.user_id, record.generation))
    return keys


def _credited(posted: JournalEntryRecord | None) -> int | None:
    """What an opening entry credits to a buyer's legacy account."""
    if posted is None:
        return None
    return sum(move.amount for move in posted.moves if move.source == Accounts.LEGACY_RESERVE)


def _balance_before(wallet: LegacyWallet, run_id: str) -> Any:
    """The balance the document had before the run: a document the run migrated (and left at
    zero) held what it migrated; one whose late credit it migrated held that credit. Anything
    else is as it is now, so a change since (a legacy credit) changes the checksum."""
    document = wallet.document
    if wallet.migrated and wallet.raw_balance == 0 and wallet.run_id == run_id:
        return document.get("migratedAmount")
    if wallet.migrated and wallet.raw_balance == 0 and document.get("lateMigrationRunId") == run_id:
        return document.get("lateMigratedAmount")
    return wallet.raw_balance
