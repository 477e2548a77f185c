"""The admin overview's figures of the domains that act on money after a sale: open buyers'
disputes and chargebacks, failed transfers and refunds, and the legacy migration's progress, each
moving with what it counts and listing exactly that in the list it links to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI

from app.auth import Role
from app.config import Settings
from app.container import Services
from app.db import Collections
from app.domain.audit import Actor
from app.services.migration import RunOptions
from tests.checkout_support import SELLER_B, Marketplace, seed_catalog
from tests.conftest import make_settings
from tests.legacy_wallets import insert_legacy_wallet
from tests.routers.disputes.support import (
    ADMIN,
    escrow_of,
    open_dispute,
    paid_order,
    refund_order,
    resolve,
    stripe_refunds,
)

if TYPE_CHECKING:
    import httpx

    from stripe_emulator.testing import EmulatorServer


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        webhook_retry_base_seconds=0,
    )


@pytest.fixture
async def market(
    app: FastAPI, client: httpx.AsyncClient, emulator: EmulatorServer, settings: Settings
) -> Marketplace:
    services: Services = app.state.services
    await seed_catalog(services.database)
    return Marketplace(services, client, emulator, settings)


async def overview(market: Marketplace) -> dict[str, Any]:
    answer = await market.client.get("/admin/overview", headers=market.headers("support-1", Role.SUPPORT))
    assert answer.status_code == 200, answer.text
    figures: dict[str, Any] = answer.json()
    return figures


async def listed(market: Marketplace, path: str, id_field: str) -> list[str]:
    """The ids the list behind a figure shows (its first page)."""
    answer = await market.client.get(path, headers=market.headers("support-1", Role.SUPPORT))
    assert answer.status_code == 200, answer.text
    return [item[id_field] for item in answer.json()["data"]]


async def counts(market: Marketplace, *figures: str) -> list[int]:
    read = await overview(market)
    return [read[figure]["count"] for figure in figures]


async def test_open_disputes_and_chargebacks_are_counted_until_they_close(market: Marketplace) -> None:
    await market.seller_account(SELLER_B)
    disputed = await paid_order(market, "buyer-d", [("prod_tea", 1)], key="d-1")
    assert await counts(market, "open_disputes", "open_chargebacks") == [0, 0]

    dispute = (await open_dispute(market, "buyer-d", disputed["order_id"], SELLER_B, key="d-o")).json()
    charged_back = await paid_order(
        market, "buyer-c", [("prod_tea", 1)], key="c-1", payment_method="pm_card_createDispute"
    )
    await market.pump()

    figures = await overview(market)
    assert figures["open_disputes"] == {"count": 1, "list": "/admin/disputes?kind=buyer&open=true"}
    assert figures["open_chargebacks"] == {"count": 1, "list": "/admin/disputes?kind=chargeback&open=true"}
    assert await listed(market, figures["open_disputes"]["list"], "dispute_id") == [dispute["dispute_id"]]
    [chargeback] = await listed(market, figures["open_chargebacks"]["list"], "dispute_id")
    assert await listed(market, "/admin/disputes?open=false", "dispute_id") == []

    resolved = await resolve(market, dispute["dispute_id"], key="d-r", outcome="refund_buyer")
    assert resolved.status_code == 200, resolved.text
    assert await counts(market, "open_disputes", "open_chargebacks") == [0, 1]
    assert await listed(market, "/admin/disputes?open=false", "dispute_id") == [dispute["dispute_id"]]

    escrow = await escrow_of(market, charged_back["order_id"], SELLER_B)
    stripe_disputes = (await market.emulator.stripe_client().v1.disputes.list_async({"limit": 10})).data
    [at_stripe] = [d for d in stripe_disputes if d.charge == escrow["charge_id"]]
    await market.emulator.control_async(f"disputes/{at_stripe.id}/win")
    await market.pump()
    assert await counts(market, "open_disputes", "open_chargebacks") == [0, 0]
    assert await listed(market, "/admin/disputes?kind=chargeback&open=false", "dispute_id") == [chargeback]
    await market.assert_invariants()


async def test_a_failed_refund_is_counted_until_it_is_given_to_the_wallet(market: Marketplace) -> None:
    await market.seller_account(SELLER_B)
    order = await paid_order(
        market, "buyer-f", [("prod_tea", 1)], key="f-1", payment_method="pm_card_refundFail"
    )
    refund = (await refund_order(market, order["order_id"], key="f-r", seller_id=SELLER_B)).json()
    assert await counts(market, "failed_refunds") == [0]  # pending at Stripe
    (stripe_refund,) = await stripe_refunds(market, order["payment_intent_id"])
    await market.emulator.control_async(
        f"refunds/{stripe_refund.id}/fail", failure_reason="lost_or_stolen_card"
    )
    await market.pump()
    figures = await overview(market)
    assert figures["failed_refunds"] == {"count": 1, "list": "/admin/refunds?status=failed"}
    assert await listed(market, figures["failed_refunds"]["list"], "refund_id") == [refund["refund_id"]]

    given = await market.client.post(
        f"/admin/refunds/{refund['refund_id']}/retry-to-wallet",
        json={"note": "card expired"},
        headers=market.headers(ADMIN, Role.ADMIN, key="f-w"),
    )
    assert given.status_code == 200, given.text
    assert await counts(market, "failed_refunds") == [0]
    await market.assert_invariants()


async def test_a_transfer_stripe_refuses_for_good_is_counted_as_failed(market: Marketplace) -> None:
    await market.seller_account(SELLER_B)
    order = await paid_order(market, "buyer-t", [("prod_tea", 1)], key="t-1")
    await market.emulator.control_async(
        "faults", path_prefix="/v1/transfers", method="POST", status=400, code="transfers_not_allowed"
    )
    delivered = await market.confirm_delivery("buyer-t", order["order_id"], key="t-d")
    assert delivered.status_code == 200, delivered.text

    figures = await overview(market)
    assert figures["failed_transfers"] == {"count": 1, "list": "/admin/transfers?status=failed"}
    [transfer] = await market.database[Collections.SELLER_TRANSFERS].find({"status": "failed"}).to_list()
    assert await listed(market, figures["failed_transfers"]["list"], "transfer_id") == [transfer["_id"]]
    assert await counts(market, "failed_refunds", "open_disputes") == [0, 0]


async def test_the_migration_figure_is_the_last_runs_progress(market: Marketplace) -> None:
    before = await overview(market)
    assert before["migration_progress"] == {"list": "/admin/migrations", "last_run": None}
    for user, balance in (("legacy-a", "10.50"), ("legacy-b", "20"), ("legacy-c", "12,50")):
        await insert_legacy_wallet(market.database, user, balance)
    await market.services.migration.migrate_now("legacy-a", Actor.job("first_use"))

    report = await market.services.migration_runs.start(RunOptions(batch_size=2), Actor.job("migrate"))

    progress = (await overview(market))["migration_progress"]
    assert progress["list"] == "/admin/migrations"
    last_run = progress["last_run"]
    assert last_run["run_id"] == report.run_id
    assert last_run["status"] == "completed"
    assert (last_run["wallets"], last_run["migrated"], last_run["already_migrated"]) == (3, 1, 1)
    assert (last_run["rejected"], last_run["remaining"]) == (1, 0)
    assert last_run["detail"] == f"/admin/migrations/{report.run_id}"
    run = await market.client.get(last_run["detail"], headers=market.headers("support-1", Role.SUPPORT))
    assert [wallet["user_id"] for wallet in run.json()["rejected"]["data"]] == ["legacy-c"]
    assert await listed(market, progress["list"], "run_id") == [report.run_id]
