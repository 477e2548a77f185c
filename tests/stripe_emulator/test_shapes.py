"""Every object the emulator serves has every top-level field of Stripe's own fixture."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import (
    FIXTURES,
    funded_platform,
    paid_intent,
    stripe_fixtures,
    verified_account,
)

RESOURCES = [
    "account",
    "account_link",
    "payment_intent",
    "payment_method",
    "charge",
    "refund",
    "transfer",
    "transfer_reversal",
    "payout",
    "balance",
    "balance_transaction",
    "dispute",
    "event",
    "bank_account",
    "capability",
]
# Fields Stripe's example shows that Stripe sends only in some cases.
ABSENT_UNLESS = {
    ("charge", "refunds"): "expanded (`expand[]=refunds`), since API version 2022-11-15",
}

Served = dict[str, list[dict[str, Any]]]
EXPANDED_CHARGE = "charge with expand[]=refunds"


class Collector:
    def __init__(self, emulator: EmulatorServer) -> None:
        self.served: Served = defaultdict(list)
        self._http = httpx.Client(
            base_url=emulator.base_url,
            headers={"Authorization": f"Bearer {emulator.settings.api_key}"},
        )

    def get(self, path: str, account: str | None = None) -> dict[str, Any]:
        headers = {"Stripe-Account": account} if account else {}
        answer: dict[str, Any] = self._http.get(path, headers=headers).raise_for_status().json()
        return answer

    def collect(self, path: str, account: str | None = None) -> None:
        """Record the object at `path`, or every object of the list at `path`."""
        answer = self.get(path, account)
        for obj in answer["data"] if answer["object"] == "list" else [answer]:
            self.served[obj["object"]].append(obj)


async def serve_everything(client: stripe.StripeClient, emulator: EmulatorServer) -> Served:
    """Make the emulator create one of everything, then read it all back over HTTP."""
    account = await verified_account(client, emulator)
    link = await client.v1.account_links.create_async({"account": account, "type": "account_onboarding"})
    intent = await funded_platform(client, emulator)
    with pytest.raises(stripe.CardError):
        await paid_intent(client, 1_000, "pm_card_chargeDeclined")
    await paid_intent(client, 2_000, "pm_card_createDispute")
    await client.v1.refunds.create_async({"payment_intent": intent.id, "amount": 500})
    transfer = await client.v1.transfers.create_async(
        {"amount": 3_000, "currency": "usd", "destination": account}
    )
    await client.v1.transfers.reversals.create_async(transfer.id, {"amount": 1_000})
    payout = await client.v1.payouts.create_async(
        {"amount": 1_000, "currency": "usd"}, {"stripe_account": account}
    )
    emulator.control(f"payouts/{payout.id}/fail")

    collector = Collector(emulator)
    collector.served["account_link"].append(link.to_dict())
    for path in (
        f"/v1/accounts/{account}",
        "/v1/payment_intents",
        "/v1/charges",
        "/v1/refunds",
        "/v1/transfers",
        f"/v1/transfers/{transfer.id}/reversals",
        "/v1/balance",
        "/v1/balance_transactions?limit=100",
        "/v1/disputes",
        "/v1/events?limit=100",
    ):
        collector.collect(path)
    for path in ("/v1/payouts", "/v1/balance", "/v1/balance_transactions", "/v1/charges"):
        collector.collect(path, account)
    for path in (f"/v1/accounts/{account}/external_accounts", f"/v1/accounts/{account}/capabilities"):
        collector.collect(path)
    for charge in collector.served["charge"]:
        if charge["payment_method"]:
            expanded = collector.get(f"/v1/charges/{charge['id']}?expand[]=payment_method")
            collector.served["payment_method"].append(expanded["payment_method"])
    collector.served["event"].extend(emulator.events())
    collector.served[EXPANDED_CHARGE].append(
        collector.get(f"/v1/charges/{intent.latest_charge}?expand[]=refunds")
    )
    return collector.served


@pytest.fixture(scope="module")
async def served(emulator_server: EmulatorServer, stripe_client: stripe.StripeClient) -> Served:
    emulator_server.reset()
    return await serve_everything(stripe_client, emulator_server)


@pytest.mark.parametrize("resource", RESOURCES)
def test_served_objects_have_every_field_of_stripes_fixture(served: Served, resource: str) -> None:
    expected = {name for name in stripe_fixtures()[resource] if (resource, name) not in ABSENT_UNLESS}

    assert served[resource], f"the scenario served no {resource}"
    for obj in served[resource]:
        missing = expected - set(obj)
        assert not missing, f"{resource} {obj.get('id')} lacks {sorted(missing)}"
        if "livemode" in obj:
            assert obj["livemode"] is False


def test_event_payloads_are_stripe_objects_too(served: Served) -> None:
    fixtures = stripe_fixtures()
    for event in served["event"]:
        payload = event["data"]["object"]
        kind = payload["object"]
        missing = {name for name in fixtures[kind] if (kind, name) not in ABSENT_UNLESS} - set(payload)
        assert not missing, f"{event['type']} payload lacks {sorted(missing)}"


def test_served_ids_have_stripes_prefixes(served: Served) -> None:
    prefixes = {
        "account": "acct_",
        "payment_intent": "pi_",
        "refund": "re_",
        "transfer": "tr_",
        "transfer_reversal": "trr_",
        "payout": "po_",
        "balance_transaction": "txn_",
        "dispute": "dp_",
        "event": "evt_",
        "payment_method": "pm_",
    }
    for resource, prefix in prefixes.items():
        assert all(obj["id"].startswith(prefix) for obj in served[resource]), resource
    assert {obj["id"][:3] for obj in served["charge"]} == {"ch_", "py_"}


def test_a_charge_lists_its_refunds_only_when_expanded(served: Served) -> None:
    refunded = next(charge for charge in served["charge"] if charge["amount_refunded"])
    [expanded] = served[EXPANDED_CHARGE]

    assert expanded["id"] == refunded["id"]
    assert "refunds" not in refunded
    assert expanded["refunds"]["object"] == "list"
    assert expanded["refunds"]["url"] == f"/v1/charges/{refunded['id']}/refunds"
    assert [refund["charge"] for refund in expanded["refunds"]["data"]] == [refunded["id"]]


def test_the_fixtures_are_stripes_file_pinned_by_its_checksum() -> None:
    pinned = FIXTURES.with_name("fixtures3.json.sha256").read_text().split()
    digest = hashlib.sha256(FIXTURES.read_bytes()).hexdigest()
    assert pinned == [digest, "fixtures3.json"]
    assert FIXTURES.with_name("LICENSE-fixtures3").read_text().startswith("The MIT License")


def test_the_fixtures_hold_every_object_the_tests_build() -> None:
    used_by_tests = {"account", "application", "event", "payment_intent", "refund"}
    assert used_by_tests | set(RESOURCES) <= set(stripe_fixtures())
