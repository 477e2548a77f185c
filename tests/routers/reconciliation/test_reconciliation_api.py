"""The review API: runs and discrepancies for admin and support, newest first and by status,
and an admin's resolution under an Idempotency-Key; each refusal with its code."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.wallet import topup_entry_key
from tests.conftest import TokenFactory, bearer
from tests.services.reconciliation.support import earlier, reconcile


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def credits_without_payment(services: Services, count: int) -> None:
    for number in range(count):
        move = Move(Accounts.CARD, Accounts.buyer_wallet(f"buyer-{number}"), 100 + number, "usd")
        intent = f"pi_ghost_{number}"
        await services.ledger.post(
            entry(topup_entry_key(intent), EntryKind.TOPUP, [move], payment_intent=intent)
        )


def staff(token: TokenFactory, role: Role = Role.ADMIN) -> dict[str, str]:
    return bearer(token("staff-1", role))


async def test_staff_page_through_runs_and_discrepancies_newest_first(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await credits_without_payment(services, 3)
    first_run = await reconcile(services)
    second_run = await reconcile(services)

    for role in (Role.ADMIN, Role.SUPPORT):
        runs = (await client.get("/admin/reconciliation/runs", headers=staff(token, role))).json()
        assert [run["id"] for run in runs["data"]] == [second_run.id, first_run.id]
        assert runs["data"][1]["counts"]["topups"]["our_records"] == 3
        assert runs["data"][1]["new_discrepancies"] == 3
        assert runs["data"][0]["known_discrepancies"] == 3

        first = await client.get(
            "/admin/reconciliation/discrepancies",
            params={"status": "open", "limit": 2},
            headers=staff(token, role),
        )
        assert first.status_code == 200, first.text
        rest = await client.get(
            "/admin/reconciliation/discrepancies",
            params={"status": "open", "limit": 2, "starting_after": first.json()["data"][-1]["id"]},
            headers=staff(token, role),
        )
        listed = first.json()["data"] + rest.json()["data"]
        assert (first.json()["has_more"], rest.json()["has_more"]) == (True, False)
        assert sorted(item["stripe_ids"]["payment_intent"] for item in listed) == [
            f"pi_ghost_{n}" for n in range(3)
        ]
        assert {item["kind"] for item in listed} == {"topup_payment_missing"}
        assert all(item["times_found"] == 2 for item in listed)
        one = await client.get(
            f"/admin/reconciliation/discrepancies/{listed[0]['id']}", headers=staff(token, role)
        )
        assert one.json() == listed[0]

    acknowledged = await client.get(
        "/admin/reconciliation/discrepancies", params={"status": "acknowledged"}, headers=staff(token)
    )
    assert acknowledged.json() == {"data": [], "has_more": False}


async def test_unknown_ids_cursors_and_filters_are_refused(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    unknown = await client.get("/admin/reconciliation/discrepancies/disc_nope", headers=staff(token))
    cursor = await client.get(
        "/admin/reconciliation/runs", params={"starting_after": "rr_nope"}, headers=staff(token)
    )
    status = await client.get(
        "/admin/reconciliation/discrepancies", params={"status": "closed"}, headers=staff(token)
    )
    buyer = await client.get("/admin/reconciliation/runs", headers=bearer(token("b", Role.BUYER)))

    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (cursor.status_code, cursor.json()["code"]) == (404, "unknown_cursor")
    assert (status.status_code, status.json()["code"]) == (422, "validation_error")
    assert (buyer.status_code, buyer.json()["code"]) == (403, "forbidden")


async def open_discrepancy(client: httpx.AsyncClient, services: Services, token: TokenFactory) -> str:
    await credits_without_payment(services, 1)
    await reconcile(services)
    listed = await client.get("/admin/reconciliation/discrepancies", headers=staff(token))
    discrepancy_id: str = listed.json()["data"][0]["id"]
    return discrepancy_id


TAKE_BACK = {
    "from_account": "buyer:buyer-0:wallet",
    "to_account": "world:card",
    "amount": 100,
    "currency": "usd",
}


async def test_an_admin_adjusts_once_under_an_idempotency_key(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    discrepancy_id = await open_discrepancy(client, services, token)
    url = f"/admin/reconciliation/discrepancies/{discrepancy_id}/resolve"
    body = {"resolution": "adjusted", "note": "credited without a payment", "adjustment": TAKE_BACK}
    admin = {**staff(token), "Idempotency-Key": "resolve-1"}

    first = await client.post(url, json=body, headers=admin)
    replay = await client.post(url, json=body, headers=admin)
    again = await client.post(url, json=body, headers={**staff(token), "Idempotency-Key": "resolve-2"})

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "adjusted"
    assert first.json()["resolution"]["by"] == "staff-1"
    assert first.json()["resolution"]["adjustment_entry_id"] == f"adjustment:{discrepancy_id}"
    assert (replay.json(), replay.headers["Idempotent-Replayed"]) == (first.json(), "true")
    assert (again.status_code, again.json()["code"]) == (409, "discrepancy_already_resolved")
    assert await services.ledger.balance(Accounts.buyer_wallet("buyer-0"), "usd") == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"resolution": "adjusted", "note": "no adjustment"}, 422, "validation_error"),
        (
            {"resolution": "acknowledged", "note": "with one", "adjustment": TAKE_BACK},
            422,
            "validation_error",
        ),
        ({"resolution": "acknowledged", "note": ""}, 422, "validation_error"),
        ({"resolution": "closed", "note": "x"}, 422, "validation_error"),
        ({"resolution": "acknowledged", "note": "x", "extra": 1}, 422, "validation_error"),
        (
            {"resolution": "adjusted", "note": "x", "adjustment": {**TAKE_BACK, "amount": "100"}},
            422,
            "validation_error",
        ),
        (
            {"resolution": "adjusted", "note": "x", "adjustment": {**TAKE_BACK, "to_account": "the bank"}},
            422,
            "validation_error",
        ),
        (
            {
                "resolution": "adjusted",
                "note": "x",
                "adjustment": {**TAKE_BACK, "to_account": "buyer:buyer-0:wallet"},
            },
            422,
            "invalid_adjustment",
        ),
        (
            {"resolution": "adjusted", "note": "x", "adjustment": {**TAKE_BACK, "amount": 10**6}},
            409,
            "insufficient_funds",
        ),
    ],
)
async def test_a_resolution_that_cannot_be_booked_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    services: Services,
    token: TokenFactory,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    discrepancy_id = await open_discrepancy(client, services, token)

    refused = await client.post(
        f"/admin/reconciliation/discrepancies/{discrepancy_id}/resolve",
        json=body,
        headers={**staff(token), "Idempotency-Key": "resolve-bad"},
    )

    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    shown = await client.get(f"/admin/reconciliation/discrepancies/{discrepancy_id}", headers=staff(token))
    assert shown.json()["status"] == "open"


async def test_only_an_admin_resolves_and_only_a_known_discrepancy(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    discrepancy_id = await open_discrepancy(client, services, token)
    body = {"resolution": "acknowledged", "note": "known"}

    support = await client.post(
        f"/admin/reconciliation/discrepancies/{discrepancy_id}/resolve",
        json=body,
        headers={**staff(token, Role.SUPPORT), "Idempotency-Key": "k1"},
    )
    unknown = await client.post(
        "/admin/reconciliation/discrepancies/disc_nope/resolve",
        json=body,
        headers={**staff(token), "Idempotency-Key": "k2"},
    )
    no_key = await client.post(
        f"/admin/reconciliation/discrepancies/{discrepancy_id}/resolve", json=body, headers=staff(token)
    )
    acknowledged = await client.post(
        f"/admin/reconciliation/discrepancies/{discrepancy_id}/resolve",
        json=body,
        headers={**staff(token), "Idempotency-Key": "k3"},
    )

    assert (support.status_code, support.json()["code"]) == (403, "forbidden")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (no_key.status_code, no_key.json()["code"]) == (422, "validation_error")
    assert (acknowledged.status_code, acknowledged.json()["status"]) == (200, "acknowledged")
    assert acknowledged.json()["resolution"]["adjustment_entry_id"] is None


async def test_a_superseded_drift_is_listed_by_its_status_out_of_the_open_count_and_final(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    """A credit seen first by a run of yesterday, as drift, then found by a run of today."""
    await credits_without_payment(services, 1)
    yesterday = await reconcile(services, earlier())
    today = await reconcile(services)

    superseded = await client.get(
        "/admin/reconciliation/discrepancies", params={"status": "superseded"}, headers=staff(token)
    )
    [drift] = superseded.json()["data"]
    assert (drift["kind"], drift["first_run_id"], drift["balance_effect"]) == (
        "platform_balance_drift",
        yesterday.id,
        -100,
    )
    assert drift["superseded"]["run_id"] == today.id
    assert (drift["superseded"]["unexplained"], drift["superseded"]["replaced_by"]) == (0, None)
    runs = (await client.get("/admin/reconciliation/runs", headers=staff(token))).json()["data"]
    assert [run["superseded_discrepancies"] for run in runs] == [1, 0]
    overview = (await client.get("/admin/overview", headers=staff(token))).json()
    assert overview["open_discrepancies"]["count"] == 1
    refused = await client.post(
        f"/admin/reconciliation/discrepancies/{drift['id']}/resolve",
        json={"resolution": "acknowledged", "note": "seen"},
        headers={**staff(token), "Idempotency-Key": "resolve-superseded"},
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "discrepancy_already_resolved")
