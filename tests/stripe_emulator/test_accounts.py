"""Connected accounts: creation, onboarding links, verification states, account.updated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import new_account


async def test_a_new_account_has_requirements_due_and_nothing_enabled(
    stripe_client: stripe.StripeClient,
) -> None:
    account = await new_account(stripe_client, metadata={"seller_id": "s1"})

    assert account.id.startswith("acct_")
    assert account.requirements is not None
    assert account.requirements.currently_due
    assert (account.charges_enabled, account.payouts_enabled) == (False, False)
    assert account.details_submitted is False
    assert account.capabilities is not None
    assert account.capabilities.to_dict() == {"transfers": "inactive"}
    assert account.settings is not None
    assert account.settings.payouts is not None
    assert account.settings.payouts.schedule.interval == "manual"
    assert account.controller is not None
    assert account.controller.stripe_dashboard is not None
    assert account.controller.stripe_dashboard.type == "none"
    assert account.metadata is not None
    assert account.metadata.to_dict() == {"seller_id": "s1"}
    assert account.email == "seller@example.com"


async def test_verification_enables_the_account_and_emits_a_connect_event(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)

    emulator.control(f"accounts/{account.id}/verify")
    verified = await stripe_client.v1.accounts.retrieve_async(account.id)

    assert verified.requirements is not None
    assert verified.requirements.currently_due == []
    assert verified.requirements.disabled_reason is None
    assert (verified.charges_enabled, verified.payouts_enabled) == (True, True)
    assert verified.details_submitted is True
    assert verified.capabilities is not None
    assert verified.capabilities.transfers == "active"
    [event] = emulator.events("account.updated")
    assert event["account"] == account.id
    assert event["data"]["object"]["charges_enabled"] is True
    assert event["data"]["previous_attributes"]["charges_enabled"] is False


async def test_restriction_puts_requirements_past_due_and_stops_payouts(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    emulator.control(f"accounts/{account.id}/verify")

    restricted = emulator.control(f"accounts/{account.id}/restrict")

    assert restricted["requirements"]["past_due"]
    assert restricted["requirements"]["disabled_reason"] == "requirements.past_due"
    assert restricted["payouts_enabled"] is False
    assert len(emulator.events("account.updated")) == 2


async def test_rejection_disables_the_account(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)

    emulator.control(f"accounts/{account.id}/reject")
    rejected = await stripe_client.v1.accounts.retrieve_async(account.id)

    assert rejected.requirements is not None
    assert rejected.requirements.disabled_reason == "rejected.other"
    assert rejected.charges_enabled is False
    assert rejected.capabilities is not None
    assert rejected.capabilities.transfers == "inactive"


async def test_an_update_changes_the_account_and_emits_account_updated(
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
    assert event["data"]["previous_attributes"]["metadata"] == {"a": "1", "b": "2"}


async def test_an_account_link_leads_to_an_onboarding_page_that_verifies(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    account = await new_account(stripe_client)
    link = await stripe_client.v1.account_links.create_async(
        {
            "account": account.id,
            "type": "account_onboarding",
            "refresh_url": "https://market.test/refresh",
            "return_url": "https://market.test/return",
        }
    )

    assert link.url == f"{emulator.base_url}/_emulator/onboarding/{account.id}"
    assert link.expires_at > link.created
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(link.url)).status_code == 200
        submitted = await browser.post(link.url)
    assert submitted.status_code == 303
    assert submitted.headers["location"] == "https://market.test/return"
    verified = await stripe_client.v1.accounts.retrieve_async(account.id)
    assert verified.details_submitted is True


async def test_an_unknown_account_is_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.accounts.retrieve_async("acct_nope")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    link_params: Any = {"account": "acct_nope", "type": "account_onboarding"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        await stripe_client.v1.account_links.create_async(link_params)
    assert raised.value.param == "account"


async def test_the_platform_account_is_retrievable(stripe_client: stripe.StripeClient) -> None:
    platform = await stripe_client.v1.accounts.retrieve_current_async()
    assert platform.charges_enabled is True
    assert platform.id.startswith("acct_")
