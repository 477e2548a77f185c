"""Resolving a discrepancy: acknowledged, or corrected by an adjustment entry carrying the admin
and the note; audited in the same transaction; final once adjusted; never twice."""

from __future__ import annotations

import asyncio

import pytest

from app.container import Services
from app.db import Collections, Database
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, InsufficientFunds
from app.domain.reconciliation import (
    Adjustment,
    DiscrepancyAlreadyResolved,
    DiscrepancyStatus,
    InvalidAdjustment,
    Resolution,
    adjustment_key,
)
from app.errors import NotFound
from app.services.reconciliation import Discrepancy
from tests.money_invariants import assert_money_invariants
from tests.services.audit.support import audit_documents
from tests.services.reconciliation.support import discrepancies, manual_credit, reconcile

ADMIN = Actor.from_roles("admin-7", ["admin"])
# The manual credit of 2.50 to buyer-0's wallet, taken back: what the drift asks for.
TAKE_BACK = Adjustment(Accounts.buyer_wallet("buyer-0"), Accounts.CARD, 250, "usd")


@pytest.fixture
async def drift(services: Services, day: None) -> Discrepancy:
    await manual_credit(services)
    await reconcile(services)
    [found] = await discrepancies(services)
    assert found.kind == "platform_balance_drift"
    return found


async def test_an_adjustment_is_booked_with_the_admin_and_note_audited_and_balances(
    services: Services, database: Database, drift: Discrepancy
) -> None:
    resolved = await services.reconciliation_review.resolve(
        drift.id, Resolution.ADJUSTED, "credit typed by hand, taken back", ADMIN, TAKE_BACK
    )

    assert resolved.status is DiscrepancyStatus.ADJUSTED
    assert resolved.resolution is not None
    assert (resolved.resolution.by, resolved.resolution.adjustment_entry_id) == (
        "admin-7",
        adjustment_key(drift.id),
    )
    posted = await services.ledger.entry(adjustment_key(drift.id))
    assert posted is not None
    assert posted.kind is EntryKind.ADJUSTMENT
    assert posted.refs == {
        "discrepancy": drift.id,
        "admin": "admin-7",
        "note": "credit typed by hand, taken back",
    }
    [audited] = await audit_documents(database, action="discrepancy.resolved")
    assert audited["actor"] == {"kind": "admin", "id": "admin-7"}
    assert audited["object"] == {"type": "discrepancy", "id": drift.id}
    assert audited["before"] == {"status": "open"}
    assert audited["after"]["status"] == "adjusted"
    assert audited["after"]["amount"] == 250
    await assert_money_invariants(database, services.provider)
    again = await reconcile(services)
    assert (again.new_discrepancies, again.known_discrepancies, again.superseded_discrepancies) == (0, 0, 0)
    assert (await services.reconciliation_review.get(drift.id)).status is DiscrepancyStatus.ADJUSTED


async def test_an_acknowledged_discrepancy_may_still_be_adjusted_and_an_adjusted_one_is_final(
    services: Services, database: Database, drift: Discrepancy
) -> None:
    review = services.reconciliation_review
    acknowledged = await review.resolve(drift.id, Resolution.ACKNOWLEDGED, "looking into it", ADMIN)
    with pytest.raises(DiscrepancyAlreadyResolved):
        await review.resolve(drift.id, Resolution.ACKNOWLEDGED, "again", ADMIN)
    adjusted = await review.resolve(drift.id, Resolution.ADJUSTED, "fixed", ADMIN, TAKE_BACK)
    for resolution, adjustment in ((Resolution.ACKNOWLEDGED, None), (Resolution.ADJUSTED, TAKE_BACK)):
        with pytest.raises(DiscrepancyAlreadyResolved):
            await review.resolve(drift.id, resolution, "once more", ADMIN, adjustment)

    assert (acknowledged.status, adjusted.status) == (
        DiscrepancyStatus.ACKNOWLEDGED,
        DiscrepancyStatus.ADJUSTED,
    )
    audited = await audit_documents(database, action="discrepancy.resolved")
    assert sorted(record["after"]["status"] for record in audited) == ["acknowledged", "adjusted"]
    assert await database[Collections.JOURNAL_ENTRIES].count_documents({"refs.discrepancy": drift.id}) == 1


async def test_a_refused_adjustment_changes_nothing(
    services: Services, database: Database, drift: Discrepancy
) -> None:
    review = services.reconciliation_review
    overdraft = Adjustment(Accounts.buyer_wallet("buyer-0"), Accounts.CARD, 1_000_000, "usd")
    with pytest.raises(InsufficientFunds):
        await review.resolve(drift.id, Resolution.ADJUSTED, "too much", ADMIN, overdraft)
    with pytest.raises(InvalidAdjustment):
        await review.resolve(drift.id, Resolution.ADJUSTED, "no adjustment", ADMIN)
    with pytest.raises(InvalidAdjustment):
        await review.resolve(drift.id, Resolution.ACKNOWLEDGED, "with one", ADMIN, TAKE_BACK)
    with pytest.raises(InvalidAdjustment):
        Adjustment("bank account 1", Accounts.CARD, 1, "usd")
    with pytest.raises(NotFound):
        await review.resolve("disc_unknown", Resolution.ACKNOWLEDGED, "?", ADMIN)

    assert (await review.get(drift.id)).status is DiscrepancyStatus.OPEN
    assert await audit_documents(database, action="discrepancy.resolved") == []
    assert await services.ledger.entry(adjustment_key(drift.id)) is None


async def test_two_admins_adjusting_at_once_book_one_adjustment(
    services: Services, database: Database, drift: Discrepancy
) -> None:
    review = services.reconciliation_review
    outcomes = await asyncio.gather(
        *(review.resolve(drift.id, Resolution.ADJUSTED, f"admin {n}", ADMIN, TAKE_BACK) for n in range(4)),
        return_exceptions=True,
    )

    assert sum(not isinstance(outcome, BaseException) for outcome in outcomes) == 1
    assert all(isinstance(o, DiscrepancyAlreadyResolved) for o in outcomes if isinstance(o, BaseException))
    assert len(await audit_documents(database, action="discrepancy.resolved")) == 1
    await assert_money_invariants(database, services.provider)


async def test_drifts_recorded_before_one_could_stand_may_each_be_acknowledged(
    services: Services, database: Database, drift: Discrepancy
) -> None:
    """Drifts written when each run opened its own carry no `standing` mark: acknowledging them
    one after the other does not meet the index that lets one drift stand per currency."""
    discrepancies_collection = database[Collections.DISCREPANCIES]
    original = await discrepancies_collection.find_one({"_id": drift.id})
    assert original is not None
    await discrepancies_collection.update_many({}, {"$unset": {"standing": ""}})
    older = {**original, "_id": "disc_older_drift", "expected": 0, "actual": 100}
    del older["standing"]
    await discrepancies_collection.insert_one(older)
    review = services.reconciliation_review

    first = await review.resolve(drift.id, Resolution.ACKNOWLEDGED, "known", ADMIN)
    second = await review.resolve("disc_older_drift", Resolution.ACKNOWLEDGED, "known too", ADMIN)

    assert first.status is second.status is DiscrepancyStatus.ACKNOWLEDGED
