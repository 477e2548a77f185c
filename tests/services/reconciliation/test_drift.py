"""The platform balance's drift: what no specific discrepancy explains of the gap between Stripe's
balance and the ledger, as of the latest run. At most one stands per currency; a run measuring the
same amount finds it again, a run measuring another supersedes it (audited), so one fault is one
discrepancy whichever run sees it first."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.container import Services
from app.db import Database
from app.domain.audit import Actor
from app.domain.reconciliation import DRIFT, STANDING, DiscrepancyStatus, Resolution
from app.services.reconciliation import Discrepancy
from tests.services.audit.support import audit_documents
from tests.services.reconciliation.support import (
    credit_without_payment,
    discrepancies,
    earlier,
    manual_credit,
    reconcile,
)

ADMIN = Actor.from_roles("admin-7", ["admin"])


def standing(found: Sequence[Discrepancy]) -> list[Discrepancy]:
    return [d for d in found if d.status in STANDING]


def drifts(found: Sequence[Discrepancy]) -> list[Discrepancy]:
    return [d for d in found if d.kind == DRIFT]


async def test_a_fault_seen_first_by_a_run_of_an_earlier_window_ends_as_its_one_discrepancy(
    services: Services, database: Database, day: None
) -> None:
    """The daily run reconciles yesterday after midnight: it sees today's fault only in the balance.
    The run of today finds the fault itself, and the drift it made is superseded."""
    await credit_without_payment(services)

    yesterday = await reconcile(services, earlier())
    [drift] = await discrepancies(services)
    today = await reconcile(services)

    assert (drift.kind, drift.balance_effect, drift.first_run_id) == (DRIFT, -700, yesterday.id)
    found = await discrepancies(services)
    [fault] = standing(found)
    assert (fault.kind, fault.status, fault.balance_effect) == ("topup_payment_missing", "open", -700)
    [closed] = drifts(found)
    assert closed.status is DiscrepancyStatus.SUPERSEDED
    assert closed.superseded is not None
    assert (closed.superseded.run_id, closed.superseded.unexplained, closed.superseded.replaced_by) == (
        today.id,
        0,
        None,
    )
    assert "explain the whole gap" in closed.superseded.reason
    assert (today.new_discrepancies, today.known_discrepancies, today.superseded_discrepancies) == (1, 0, 1)
    assert today.counts["platform_balance"].matched == 1
    [audited] = await audit_documents(database, action="discrepancy.superseded")
    assert audited["actor"] == {"kind": "system", "id": "reconciliation"}
    assert audited["object"] == {"type": "discrepancy", "id": drift.id}
    assert audited["before"] == {"status": "open"}
    assert audited["after"] == {
        "status": "superseded",
        "run": today.id,
        "unexplained": 0,
        "currency": "usd",
        "replaced_by": None,
    }
    again = await reconcile(services)
    assert (again.new_discrepancies, again.known_discrepancies, again.superseded_discrepancies) == (0, 1, 0)


async def test_a_drift_that_lasts_is_one_discrepancy_however_many_runs_find_it(
    services: Services, day: None
) -> None:
    await manual_credit(services)

    runs = [await reconcile(services) for _ in range(3)]

    [drift] = await discrepancies(services)
    assert (drift.kind, drift.status, drift.balance_effect, drift.times_found) == (
        DRIFT,
        DiscrepancyStatus.OPEN,
        -250,
        3,
    )
    assert (drift.first_run_id, drift.last_run_id) == (runs[0].id, runs[-1].id)
    counted = [(r.new_discrepancies, r.known_discrepancies, r.superseded_discrepancies) for r in runs]
    assert counted == [(1, 0, 0), (0, 1, 0), (0, 1, 0)]


async def test_a_second_drift_beside_a_standing_one_supersedes_it_with_what_is_unexplained_now(
    services: Services, database: Database, day: None
) -> None:
    await manual_credit(services)
    first = await reconcile(services)
    await manual_credit(services, 100, key="manual:credit-again")

    second = await reconcile(services)

    found = await discrepancies(services)
    [now] = standing(found)
    [before] = [d for d in found if d.status is DiscrepancyStatus.SUPERSEDED]
    assert (now.kind, now.balance_effect, now.first_run_id) == (DRIFT, -350, second.id)
    assert (before.balance_effect, before.first_run_id) == (-250, first.id)
    assert before.superseded is not None
    assert (before.superseded.run_id, before.superseded.unexplained, before.superseded.replaced_by) == (
        second.id,
        -350,
        now.id,
    )
    assert (second.new_discrepancies, second.superseded_discrepancies) == (1, 1)
    [audited] = await audit_documents(database, action="discrepancy.superseded")
    assert audited["after"]["replaced_by"] == now.id


async def test_an_acknowledged_drift_that_lasts_stays_acknowledged_and_one_that_changes_is_superseded(
    services: Services, database: Database, day: None
) -> None:
    await manual_credit(services)
    await reconcile(services)
    [drift] = await discrepancies(services)
    await services.reconciliation_review.resolve(drift.id, Resolution.ACKNOWLEDGED, "a known credit", ADMIN)

    lasting = await reconcile(services)

    [still] = await discrepancies(services)
    assert (still.id, still.status, still.times_found) == (drift.id, DiscrepancyStatus.ACKNOWLEDGED, 2)
    assert (lasting.new_discrepancies, lasting.known_discrepancies) == (0, 1)

    await manual_credit(services, 100, key="manual:credit-again")
    await reconcile(services)

    closed = await services.reconciliation_review.get(drift.id)
    assert closed.status is DiscrepancyStatus.SUPERSEDED
    assert closed.resolution is not None  # the admin's acknowledgement is kept beside it
    [audited] = await audit_documents(database, action="discrepancy.superseded")
    assert audited["before"] == {"status": "acknowledged"}
    [now] = standing(await discrepancies(services))
    assert (now.status, now.balance_effect) == (DiscrepancyStatus.OPEN, -350)


async def test_two_runs_at_once_leave_one_drift_standing(services: Services, day: None) -> None:
    await manual_credit(services)

    runs = await asyncio.gather(*(reconcile(services) for _ in range(3)))

    [drift] = await discrepancies(services)
    assert (drift.kind, drift.status, drift.balance_effect) == (DRIFT, DiscrepancyStatus.OPEN, -250)
    assert sum(run.new_discrepancies for run in runs) == 1
    assert drift.times_found == 3


# Faults and runs in any order: (what, amount) pairs. A drift is money the ledger shows and
# Stripe never had, explained by nothing; a ghost is a top-up credit for a PaymentIntent Stripe
# never had, which a run of today finds (and a run of yesterday sees only in the balance).
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["drift", "ghost"]), st.integers(1, 900)),
        st.tuples(st.sampled_from(["run today", "run yesterday", "acknowledge"]), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)
KEYS = itertools.count()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
async def test_the_drift_standing_is_always_what_the_specific_discrepancies_leave_unexplained(
    services: Services, steps: list[tuple[str, int]]
) -> None:
    """Whatever happened before (examples share the books), after every run at most one drift
    stands, and it is Stripe's balance less the ledger's prediction less what the specific
    discrepancies standing explain: zero when none stands."""
    ghosts: list[str] = []
    for step, amount in steps:
        key = next(KEYS)
        if step == "drift":
            await manual_credit(services, amount, key=f"manual:property-{key}")
        elif step == "ghost":
            ghosts.append(await credit_without_payment(services, f"pi_property_{key}", amount))
        elif step == "acknowledge":
            for drift in drifts(await standing_now(services)):
                if drift.status is DiscrepancyStatus.OPEN:
                    await services.reconciliation_review.resolve(
                        drift.id, Resolution.ACKNOWLEDGED, "seen", ADMIN
                    )
        else:
            await reconcile(services, earlier() if step == "run yesterday" else None)
            await assert_drift_is_what_is_unexplained(services)
            if step == "run today":
                found = [d.stripe_ids.get("payment_intent") for d in await discrepancies(services)]
                assert all(found.count(ghost) == 1 for ghost in ghosts), (ghosts, found)


async def standing_now(services: Services) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    for status in STANDING:
        after = None
        while True:
            page = await services.reconciliation_review.discrepancies(status, 100, after)
            found += page.data
            if not page.has_more:
                break
            after = page.data[-1].id
    return found


async def assert_drift_is_what_is_unexplained(services: Services) -> None:
    found = await standing_now(services)
    balance = await services.provider.retrieve_balance()
    at_stripe = sum(m.amount for m in (*balance.available, *balance.pending) if m.currency == "usd")
    predicted = await services.ledger.expected_platform_stripe_balance("usd")
    explained = sum(d.balance_effect for d in found if d.kind != DRIFT)
    standing_drifts = drifts(found)
    assert len(standing_drifts) <= 1, standing_drifts
    assert sum(d.balance_effect for d in standing_drifts) == at_stripe - predicted - explained
