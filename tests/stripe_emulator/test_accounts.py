"""Connected accounts as Stripe derives them: states, capabilities, events, links, bank accounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import CONNECTED_ACCOUNT_PARAMS, funded_platform, new_account

DAY = 86_400
ONBOARDING = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]
DOCUMENT = "individual.verification.document"
ID_NUMBER = "individual.id_number"
Control = Callable[[EmulatorServer, str], Any]


@dataclass(frozen=True)
class Derived:
    """What Stripe derives for an account in a given state."""

    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    transfers: str
    disabled_reason: str | None
    currently_due: list[str]
    past_due: list[str]
    pending_verification: list[str]
    has_deadline: bool = False
    future_due: tuple[str, ...] = ()


def onboarded(emulator: EmulatorServer, account: str) -> None:
    emulator.control(f"accounts/{account}/verify")


def then(*controls: Control) -> Control:
    def run(emulator: EmulatorServer, account: str) -> None:
        onboarded(emulator, account)
        for control in controls:
            control(emulator, account)

    return run


def control(action: str, **body: Any) -> Control:
    return lambda emulator, account: emulator.control(f"accounts/{account}/{action}", **body)


def advance(seconds: int) -> Control:
    return lambda emulator, account: emulator.control("clock/advance", seconds=seconds)


ENABLED = Derived(True, True, True, "active", None, [], [], [])
STATES: dict[str, tuple[Control, Derived]] = {
    "new": (
        lambda emulator, account: None,
        Derived(False, False, False, "inactive", "requirements.past_due", ONBOARDING, ONBOARDING, []),
    ),
    "onboarded": (onboarded, ENABLED),
    "documents under review": (
        then(control("review")),
        Derived(False, False, True, "pending", "requirements.pending_verification", [], [], [DOCUMENT]),
    ),
    "information due soon": (
        then(control("require", fields=[ID_NUMBER], due_in_seconds=7 * DAY)),
        Derived(True, True, True, "active", None, [ID_NUMBER], [], [], has_deadline=True),
    ),
    "restricted": (
        then(control("restrict")),
        Derived(False, False, True, "inactive", "requirements.past_due", [DOCUMENT], [DOCUMENT], []),
    ),
    "deadline passed": (
        then(control("require", fields=[ID_NUMBER], due_in_seconds=DAY), advance(2 * DAY)),
        Derived(False, False, True, "inactive", "requirements.past_due", [ID_NUMBER], [ID_NUMBER], []),
    ),
    "rejected": (
        then(control("reject", reason="fraud")),
        Derived(False, False, True, "inactive", "rejected.fraud", [], [], []),
    ),
    "future requirements announced": (
        then(control("future_requirements", fields=[ID_NUMBER], due_in_seconds=30 * DAY)),
        Derived(True, True, True, "active", None, [], [], [], future_due=(ID_NUMBER,)),
    ),
    "future requirements in effect": (
        then(control("future_requirements", fields=[ID_NUMBER], due_in_seconds=DAY), advance(DAY)),
        Derived(False, False, True, "inactive", "requirements.past_due", [ID_NUMBER], [ID_NUMBER], []),
    ),
    "verified again": (then(control("restrict"), onboarded), ENABLED),
}


@pytest.mark.parametrize("state", list(STATES))
async def test_each_account_state_derives_stripes_fields(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, state: str
) -> None:
    reach, expected = STATES[state]
    account = await new_account(stripe_client)

    reach(emulator, account.id)
    found = (await stripe_client.v1.accounts.retrieve_async(account.id)).to_dict()

    requirements, future = found["requirements"], found["future_requirements"]
    assert (
        Derived(
            charges_enabled=found["charges_enabled"],
            payouts_enabled=found["payouts_enabled"],
            details_submitted=found["details_submitted"],
            transfers=found["capabilities"]["transfers"],
            disabled_reason=requirements["disabled_reason"],
            currently_due=requirements["currently_due"],
            past_due=requirements["past_due"],
            pending_verification=requirements["pending_verification"],
            has_deadline=requirements["current_deadline"] is not None,
            future_due=tuple(future["currently_due"]),
        )
        == expected
    )
    assert requirements["eventually_due"] == requirements["currently_due"]
    assert (future["current_deadline"] is not None) == bool(expected.future_due)


ACTIONS = st.sampled_from(
    [
        ("verify", {}),
        ("restrict", {}),
        ("review", {}),
        ("reject", {"reason": "other"}),
        ("require", {"fields": [ID_NUMBER], "due_in_seconds": DAY}),
        ("future_requirements", {"fields": ["company.tax_id"], "due_in_seconds": DAY}),
        ("advance", {"seconds": DAY}),
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTIONS, max_size=6))
def test_the_derived_fields_always_agree_with_each_other(
    emulator_server: EmulatorServer, actions: list[tuple[str, dict[str, Any]]]
) -> None:
    client = emulator_server.stripe_client(stripe.HTTPXClient(allow_sync_methods=True))
    params: Any = CONNECTED_ACCOUNT_PARAMS
    account = client.v1.accounts.create(params)
    for action, body in actions:
        if action == "advance":
            emulator_server.control("clock/advance", **body)
        else:
            emulator_server.control(f"accounts/{account.id}/{action}", **body)

    found = client.v1.accounts.retrieve(account.id).to_dict()
    requirements = found["requirements"]
    reason = requirements["disabled_reason"]
    assert (
        set(requirements["past_due"])
        <= set(requirements["currently_due"])
        <= set(requirements["eventually_due"])
    )
    assert found["charges_enabled"] == (reason is None)
    assert found["payouts_enabled"] == (reason is None and bool(found["external_accounts"]["data"]))
    assert (found["capabilities"]["transfers"] == "active") == (reason is None)
    if not reason or not reason.startswith("rejected."):
        assert (reason == "requirements.past_due") == bool(requirements["past_due"])
        pending_only = not requirements["past_due"] and requirements["pending_verification"]
        assert (reason == "requirements.pending_verification") == bool(pending_only)
    if requirements["current_deadline"] is not None:
        assert requirements["current_deadline"] > emulator_server.inspect("clock")["now"] - 1


async def test_a_transfer_to_a_restricted_account_is_refused(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    onboarded(emulator, account.id)
    await funded_platform(stripe_client, emulator)
    emulator.control(f"accounts/{account.id}/restrict")

    with pytest.raises(stripe.InvalidRequestError) as refused:
        await stripe_client.v1.transfers.create_async(
            {"amount": 100, "currency": "usd", "destination": account.id}
        )

    assert (refused.value.http_status, refused.value.code) == (400, "insufficient_capabilities_for_transfer")
    assert refused.value.param == "destination"


async def test_a_capability_change_sends_capability_updated_and_account_updated_only_the_changes(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    onboarded(emulator, account.id)

    emulator.control(f"accounts/{account.id}/restrict")

    [capability_event, _] = emulator.events("capability.updated")  # newest first
    capability = capability_event["data"]["object"]
    assert (capability_event["account"], capability["object"]) == (account.id, "capability")
    assert (capability["id"], capability["account"], capability["status"]) == (
        "transfers",
        account.id,
        "inactive",
    )
    assert capability["requirements"]["past_due"] == [DOCUMENT]
    [restricted, _] = emulator.events("account.updated")
    assert restricted["data"]["previous_attributes"] == {
        "capabilities": {"transfers": "active"},
        "charges_enabled": True,
        "payouts_enabled": True,
        "requirements": {
            "currently_due": [],
            "eventually_due": [],
            "past_due": [],
            "disabled_reason": None,
        },
    }
    listed = await stripe_client.v1.accounts.capabilities.list_async(account.id)
    assert [(found.id, found.status) for found in listed.data] == [("transfers", "inactive")]
    retrieved = await stripe_client.v1.accounts.capabilities.retrieve_async(account.id, "transfers")
    assert retrieved.to_dict() == capability
    with pytest.raises(stripe.InvalidRequestError) as unrequested:
        await stripe_client.v1.accounts.capabilities.retrieve_async(account.id, "card_payments")
    assert (unrequested.value.http_status, unrequested.value.code) == (404, "resource_missing")


async def test_an_update_sends_only_the_changed_fields(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client, metadata={"a": "1", "b": "2"})

    updated = await stripe_client.v1.accounts.update_async(
        account.id, {"metadata": {"a": "", "c": "3"}, "business_profile": {"url": "https://x.test"}}
    )

    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    assert updated.business_profile is not None
    assert updated.business_profile.url == "https://x.test"
    [event] = emulator.events("account.updated")
    remaining = [name for name in ONBOARDING if name != "business_profile.url"]
    assert event["data"]["previous_attributes"] == {
        "business_profile": {"url": None},
        "metadata": {"a": "1", "c": None},
        "requirements": {"currently_due": ONBOARDING, "eventually_due": ONBOARDING, "past_due": ONBOARDING},
    }
    assert event["data"]["object"]["requirements"]["currently_due"] == remaining
    assert emulator.events("capability.updated") == []


async def test_type_together_with_controller_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await new_account(stripe_client, type="custom")

    assert (refused.value.http_status, refused.value.param) == (400, "controller")
    assert (await stripe_client.v1.accounts.list_async()).data == []


async def test_onboarding_creates_a_real_bank_account_and_announces_it(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)

    onboarded(emulator, account.id)

    listed = await stripe_client.v1.accounts.external_accounts.list_async(account.id)
    [bank_account] = listed.data
    assert isinstance(bank_account, stripe.BankAccount)
    assert (bank_account.last4, bank_account.routing_number, bank_account.account) == (
        "6789",
        "110000000",
        account.id,
    )
    fetched = await stripe_client.v1.accounts.external_accounts.retrieve_async(account.id, bank_account.id)
    assert fetched.id == bank_account.id
    [event] = emulator.events("account.external_account.created")
    assert (event["account"], event["data"]["object"]["id"]) == (account.id, bank_account.id)
    verified = await stripe_client.v1.accounts.retrieve_async(account.id)
    assert verified.external_accounts is not None
    assert [found.id for found in verified.external_accounts.data] == [bank_account.id]


async def test_a_bank_account_given_through_the_api_meets_the_requirement(
    stripe_client: stripe.StripeClient,
) -> None:
    account = await new_account(stripe_client)

    updated = await stripe_client.v1.accounts.update_async(
        account.id,
        {
            "external_account": {
                "object": "bank_account",
                "country": "US",
                "currency": "usd",
                "routing_number": "110000000",
                "account_number": "000111111116",
            }
        },
    )

    assert updated.requirements is not None
    assert "external_account" not in (updated.requirements.currently_due or [])
    assert updated.external_accounts is not None
    assert [found.last4 for found in updated.external_accounts.data] == ["1116"]


def link_params(account: str) -> Any:
    return {
        "account": account,
        "type": "account_onboarding",
        "refresh_url": "https://market.test/refresh",
        "return_url": "https://market.test/return",
    }


async def test_an_account_link_leads_to_an_onboarding_page_that_verifies(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    link = await stripe_client.v1.account_links.create_async(link_params(account.id))

    assert link.url.startswith(f"{emulator.base_url}/_emulator/onboarding/")
    assert link.expires_at == link.created + 300
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link.url)
        submitted = await browser.post(link.url, data={"account_number": "000111111113"})
    assert page.status_code == 200
    assert "000111111116" in page.text
    assert submitted.status_code == 303
    assert submitted.headers["location"] == "https://market.test/return"
    verified = await stripe_client.v1.accounts.retrieve_async(account.id)
    assert (verified.details_submitted, verified.payouts_enabled) == (True, True)
    assert verified.external_accounts is not None
    assert [found.last4 for found in verified.external_accounts.data] == ["1113"]


@pytest.mark.parametrize("spoil", ["expire", "complete", "wait"])
async def test_an_expired_or_used_link_redirects_to_refresh_url(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, spoil: str
) -> None:
    account = await new_account(stripe_client)
    link = await stripe_client.v1.account_links.create_async(link_params(account.id))
    token = link.url.rsplit("/", 1)[-1]

    async with httpx.AsyncClient() as browser:
        if spoil == "expire":
            emulator.control(f"account_links/{token}/expire")
        elif spoil == "complete":
            await browser.post(link.url)
        else:
            emulator.control("clock/advance", seconds=300)
        opened = await browser.get(link.url)
        submitted = await browser.post(link.url)

    assert (opened.status_code, opened.headers["location"]) == (302, "https://market.test/refresh")
    assert (submitted.status_code, submitted.headers["location"]) == (302, "https://market.test/refresh")
    found = await stripe_client.v1.accounts.retrieve_async(account.id)
    assert found.details_submitted is (spoil == "complete")


async def test_an_expired_link_without_refresh_url_says_so(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    link = await stripe_client.v1.account_links.create_async(
        {"account": account.id, "type": "account_onboarding"}
    )
    emulator.advance_clock(300)

    async with httpx.AsyncClient() as browser:
        opened = await browser.get(link.url)

    assert opened.status_code == 410
    assert "expired" in opened.text


async def test_a_link_serves_one_visit_whose_form_still_completes(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    link = await stripe_client.v1.account_links.create_async(link_params(account.id))

    async with httpx.AsyncClient() as browser:
        first = await browser.get(link.url)
        again = await browser.get(link.url)
        submitted = await browser.post(link.url)

    assert first.status_code == 200
    assert (again.status_code, again.headers["location"]) == (302, "https://market.test/refresh")
    assert (submitted.status_code, submitted.headers["location"]) == (303, "https://market.test/return")


async def test_an_unknown_account_is_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as in_path:
        await stripe_client.v1.accounts.retrieve_async("acct_nope")
    with pytest.raises(stripe.InvalidRequestError) as in_body:
        await stripe_client.v1.account_links.create_async(link_params("acct_nope"))

    assert (in_path.value.http_status, in_path.value.code, in_path.value.param) == (
        404,
        "resource_missing",
        "id",
    )
    assert (in_body.value.http_status, in_body.value.code, in_body.value.param) == (
        400,
        "resource_missing",
        "account",
    )


async def test_the_platform_account_is_retrievable_with_its_bank_account(
    stripe_client: stripe.StripeClient,
) -> None:
    platform = await stripe_client.v1.accounts.retrieve_current_async()
    assert platform.charges_enabled is True
    assert platform.id.startswith("acct_")
    assert platform.external_accounts is not None
    [bank_account] = platform.external_accounts.data
    assert bank_account.id.startswith("ba_")
