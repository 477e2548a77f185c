"""Onboarding links: the seller's account created once, from their profile, on first need (even
under concurrent requests from several processes); a fresh link each time; and the refusals."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import respx

from app.adapters.marketplace_users import MarketplaceUsers
from app.adapters.stripe_adapter import StripeAdapter
from app.config import Settings
from app.container import Services, build_services
from app.db import Collections, Database, Document
from app.domain.audit import Actor
from app.domain.onboarding import SellerStatus
from app.errors import NotFound
from app.services.onboarding import (
    STATUS_CHANGED,
    Onboarding,
    SellerCountryUnsupported,
    SellerProfileIncomplete,
)
from tests.conftest import make_settings
from tests.services.audit.support import audit_documents

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

REPOSITORY = Path(__file__).resolve().parents[3]
PROCESSES, PER_PROCESS = 2, 5


@pytest.fixture
def settings(emulator_settings: Settings) -> Settings:
    return emulator_settings


@pytest.fixture
async def provider(settings: Settings) -> AsyncIterator[StripeAdapter]:
    adapter = StripeAdapter(settings)
    yield adapter
    await adapter.close()


@pytest.fixture
def services(database: Database, settings: Settings, provider: StripeAdapter) -> Services:
    return build_services(database, settings, provider)


@pytest.fixture
def onboarding(services: Services) -> Onboarding:
    return services.onboarding


async def add_user(database: Database, user_id: str, **profile: Any) -> None:
    await database["users"].insert_one({"_id": user_id, "roles": ["seller"], **profile})


async def seller(database: Database, seller_id: str, country: str = "US") -> str:
    await add_user(database, seller_id, email=f"{seller_id}@example.com", country=country)
    return seller_id


async def accounts_at_stripe(emulator: EmulatorServer, seller_id: str) -> list[Any]:
    listed = await emulator.stripe_client().v1.accounts.list_async({"limit": 100})
    return [
        account
        for account in listed.data
        if account.to_dict().get("metadata", {}).get("seller_id") == seller_id
    ]


async def account_operations(database: Database) -> list[Document]:
    return await database[Collections.PAYMENT_OPERATIONS].find({"kind": "account"}).to_list()


async def test_the_first_link_opens_the_sellers_account_from_their_profile(
    onboarding: Onboarding, database: Database, emulator: EmulatorServer
) -> None:
    seller_id = await seller(database, "seller-1", country="us")

    link = await onboarding.onboarding_link(seller_id, Actor.user(seller_id))

    [account] = await accounts_at_stripe(emulator, seller_id)
    assert link.account_id == account.id
    assert link.url.startswith(f"{emulator.base_url}/_emulator/onboarding/")
    assert (account.email, account.country) == ("seller-1@example.com", "US")
    assert set(account.capabilities.to_dict()) == {"transfers"}
    standing = await onboarding.standing(seller_id)
    assert (standing.status, standing.account_id, standing.progress) == (
        SellerStatus.ONBOARDING,
        account.id,
        0,
    )
    [record] = await audit_documents(database, action=STATUS_CHANGED)
    assert (record["actor"], record["object"]) == (
        {"kind": "user", "id": seller_id},
        {"type": "seller_account", "id": account.id},
    )
    assert (record["before"]["status"], record["after"]["status"]) == ("not_started", "onboarding")


async def test_every_link_is_fresh_and_the_account_is_not_opened_again(
    onboarding: Onboarding, database: Database, emulator: EmulatorServer
) -> None:
    seller_id = await seller(database, "seller-2")

    links = [await onboarding.onboarding_link(seller_id, Actor.user(seller_id)) for _ in range(3)]

    assert len({link.url for link in links}) == 3
    assert len({link.account_id for link in links}) == 1
    assert len(await accounts_at_stripe(emulator, seller_id)) == 1
    assert len(await account_operations(database)) == 1
    assert len(await audit_documents(database, action=STATUS_CHANGED)) == 1


async def test_ten_concurrent_link_requests_from_two_processes_open_one_account(
    settings: Settings, database: Database, emulator: EmulatorServer, services: Services
) -> None:
    seller_id = await seller(database, "seller-rush")
    start_at = time.time() + 3  # time for every interpreter to start and connect
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.services.onboarding.link_requester",
            settings.mongodb_uri,
            settings.mongodb_database,
            emulator.base_url,
            seller_id,
            str(PER_PROCESS),
            str(start_at),
            cwd=REPOSITORY,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [await process.communicate() for process in processes]
    assert [process.returncode for process in processes] == [0] * PROCESSES, [err for _, err in outputs]
    links = [link for out, _ in outputs for link in json.loads(out)]

    [account] = await accounts_at_stripe(emulator, seller_id)
    assert len(links) == PROCESSES * PER_PROCESS
    assert {account_id for account_id, _ in links} == {account.id}
    assert len({url for _, url in links}) == PROCESSES * PER_PROCESS, "each request has its own link"
    assert len(await account_operations(database)) == 1
    assert await database[Collections.STRIPE_ACCOUNTS].count_documents({"seller_id": seller_id}) == 1
    assert len(await audit_documents(database, action=STATUS_CHANGED)) == 1
    standing = await services.onboarding.standing(seller_id)
    assert (standing.status, standing.account_id) == (SellerStatus.ONBOARDING, account.id)


@pytest.mark.parametrize(
    ("profile", "missing"),
    [
        ({"country": "US"}, ["email"]),
        ({"email": "s@example.com"}, ["country"]),
        ({"email": "not-an-address", "country": ""}, ["email", "country"]),
        ({}, ["email", "country"]),
    ],
)
async def test_an_incomplete_profile_is_refused_naming_what_is_missing_and_opens_nothing(
    onboarding: Onboarding,
    database: Database,
    emulator: EmulatorServer,
    profile: dict[str, str],
    missing: list[str],
) -> None:
    await add_user(database, "seller-incomplete", **profile)

    with pytest.raises(SellerProfileIncomplete) as refused:
        await onboarding.onboarding_link("seller-incomplete", Actor.user("seller-incomplete"))

    assert refused.value.extensions == {"missing": missing}
    assert await accounts_at_stripe(emulator, "seller-incomplete") == []
    assert await account_operations(database) == []
    assert (await onboarding.standing("seller-incomplete")).status is SellerStatus.NOT_STARTED


@pytest.mark.parametrize("country", ["JM", "XX", "USA"])
async def test_a_country_sellers_cannot_be_paid_in_is_refused_before_stripe_is_asked(
    onboarding: Onboarding, database: Database, emulator: EmulatorServer, country: str
) -> None:
    seller_id = await seller(database, "seller-far", country=country)

    with pytest.raises(SellerCountryUnsupported) as refused:
        await onboarding.onboarding_link(seller_id, Actor.user(seller_id))

    assert refused.value.extensions == {"country": country}
    assert await accounts_at_stripe(emulator, seller_id) == []
    assert await account_operations(database) == []


async def test_a_country_stripe_refuses_is_the_same_refusal(
    onboarding: Onboarding, database: Database, emulator: EmulatorServer
) -> None:
    """Stripe's own answer when it cannot serve a country (here injected: the emulator serves any)."""
    seller_id = await seller(database, "seller-refused", country="CA")
    refusal = {
        "error": {
            "type": "invalid_request_error",
            "param": "country",
            "message": "Connected accounts in CA cannot be created by platforms in US.",
        }
    }
    with respx.mock(using="httpx", assert_all_mocked=False, assert_all_called=False) as mock:
        mock.post(path="/v1/accounts").respond(400, json=refusal)
        mock.route().pass_through()
        with pytest.raises(SellerCountryUnsupported) as refused:
            await onboarding.onboarding_link(seller_id, Actor.user(seller_id))

    assert refused.value.extensions == {"country": "CA"}
    assert "CA" in refused.value.detail
    assert await accounts_at_stripe(emulator, seller_id) == []


async def test_an_unknown_seller_is_not_found(onboarding: Onboarding) -> None:
    with pytest.raises(NotFound):
        await onboarding.onboarding_link("nobody", Actor.from_roles("admin-1", ["admin"]))
    with pytest.raises(NotFound):
        await onboarding.standing("nobody")


async def test_the_profile_is_read_under_the_configured_names_with_an_index_on_the_id(
    mongodb_uri: str, emulator: EmulatorServer, database: Database, provider: StripeAdapter
) -> None:
    settings = make_settings(
        mongodb_uri,
        mongodb_database=database.db.name,
        stripe_api_base=emulator.base_url,
        users_database=f"{database.db.name}_marketplace",
        users_collection="members",
        users_id_field="memberId",
        users_email_field="contact.email",
        users_country_field="address.country",
        seller_card_payments=True,
    )
    marketplace = database.client[settings.users_database or ""]
    await marketplace["members"].insert_one(
        {"memberId": "seller-7", "contact": {"email": "seven@example.com"}, "address": {"country": "GB"}}
    )
    try:
        services = build_services(database, settings, provider)
        await MarketplaceUsers(database, settings).ensure_id_index()
        link = await services.onboarding.onboarding_link("seller-7", Actor.user("seller-7"))

        account = await emulator.stripe_client().v1.accounts.retrieve_async(link.account_id)
        assert (account.email, account.country) == ("seven@example.com", "GB")
        assert set(account.capabilities.to_dict()) == {"transfers", "card_payments"}
        indexes = await marketplace["members"].index_information()
        assert indexes["payments_service_memberId"]["key"] == [("memberId", 1)]
    finally:
        await database.client.drop_database(marketplace.name)


async def test_a_refresh_reads_the_account_from_stripe_now(
    onboarding: Onboarding, database: Database, emulator: EmulatorServer
) -> None:
    seller_id = await seller(database, "seller-late")
    link = await onboarding.onboarding_link(seller_id, Actor.user(seller_id))
    await emulator.control_async(f"accounts/{link.account_id}/verify")
    assert (await onboarding.standing(seller_id)).status is SellerStatus.ONBOARDING  # no webhook heard

    standing = await onboarding.refresh(seller_id, Actor.user(seller_id))

    assert (standing.status, standing.progress, standing.can_receive_transfers) == (
        SellerStatus.ACTIVE,
        100,
        True,
    )
    assert (standing.charges_enabled, standing.payouts_enabled, standing.details_submitted) == (
        True,
        True,
        True,
    )


async def test_a_refresh_before_the_seller_has_an_account_says_not_started(
    onboarding: Onboarding, database: Database
) -> None:
    seller_id = await seller(database, "seller-new")

    standing = await onboarding.refresh(seller_id, Actor.user(seller_id))

    assert (standing.status, standing.account_id, standing.progress) == (SellerStatus.NOT_STARTED, None, 0)
    assert standing.next_step == "Set up payments: start onboarding with Stripe."
