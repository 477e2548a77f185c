"""The wallet API: balances, history, top-up requests, and who may use them."""

import httpx
import pytest
from fastapi import FastAPI

from app.auth import Role
from app.container import Services
from app.domain.audit import Actor
from app.domain.ledger import Accounts, EntryKind, Move, entry
from app.domain.migration import LegacyWalletStatus, RejectionReason
from tests.command_log import CommandLog
from tests.conftest import TokenFactory, bearer
from tests.legacy_wallets import USERS, insert_legacy_wallet


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def credit_platform_wallet(services: Services, user_id: str, amount: int, key: str) -> None:
    credit = Move(Accounts.CARD, Accounts.buyer_wallet(user_id), amount, "usd")
    await services.ledger.post(entry(key, EntryKind.TOPUP, [credit], topup=key))


async def test_wallet_shows_an_unmigrated_legacy_balance_beside_the_platform_balance(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "alice", 0.1 + 0.2)
    await credit_platform_wallet(services, "alice", 1500, "t1")

    response = await client.get("/wallet", headers=bearer(token("alice", Role.BUYER)))

    assert response.status_code == 200
    assert response.json() == {
        "currency": "usd",
        "legacy_balance": 30,
        "platform_balance": 1500,
        "total_balance": 1530,
        "pending_topups": 0,
        "legacy_wallet_status": "not_migrated",
        "legacy_wallet_reason": None,
        "flow": "v2",
    }
    legacy = await services.database["wallets"].find_one({"userId": "alice"})
    assert legacy is not None
    assert "migrated" not in legacy  # reading never migrates


async def test_wallet_after_migration_reads_the_ledger(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "bob", "42.10")
    await services.migration.migrate_user("bob", Actor.user("bob"))

    body = (await client.get("/wallet", headers=bearer(token("bob", Role.BUYER)))).json()

    assert (body["legacy_balance"], body["legacy_wallet_status"], body["total_balance"]) == (
        4210,
        "migrated",
        4210,
    )


async def test_a_user_without_legacy_wallet_and_one_with_a_broken_one(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "broken", "12.345")
    fresh = (await client.get("/wallet", headers=bearer(token("fresh", Role.BUYER)))).json()
    broken = (await client.get("/wallet", headers=bearer(token("broken", Role.BUYER)))).json()
    assert (fresh["legacy_wallet_status"], fresh["total_balance"]) == ("none", 0)
    assert (broken["legacy_wallet_status"], broken["legacy_balance"]) == ("invalid", 0)


async def test_transactions_list_both_balances_newest_first_with_cursor(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await insert_legacy_wallet(services.database, "carol", "5.00")
    await services.migration.migrate_user("carol", Actor.user("carol"))
    for index in range(3):
        await credit_platform_wallet(services, "carol", 100 * (index + 1), f"carol-topup-{index}")
    await credit_platform_wallet(services, "dave", 999, "dave-topup")  # someone else's line
    headers = bearer(token("carol", Role.BUYER))

    first = (await client.get("/wallet/transactions", params={"limit": 3}, headers=headers)).json()
    rest = (
        await client.get(
            "/wallet/transactions",
            params={"limit": 3, "starting_after": first["data"][-1]["id"]},
            headers=headers,
        )
    ).json()

    lines = first["data"] + rest["data"]
    assert first["has_more"] is True
    assert rest["has_more"] is False
    assert [(line["source"], line["kind"], line["amount"], line["balance_after"]) for line in lines] == [
        ("platform", "topup", 300, 600),
        ("platform", "topup", 200, 300),
        ("platform", "topup", 100, 100),
        ("legacy", "migration", 500, 500),
    ]
    assert lines[0]["refs"] == {"topup": "carol-topup-2"}


async def test_a_cursor_from_another_wallet_is_refused(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await credit_platform_wallet(services, "dave", 999, "dave-topup")
    dave_line = (await client.get("/wallet/transactions", headers=bearer(token("dave", Role.BUYER)))).json()[
        "data"
    ][0]
    response = await client.get(
        "/wallet/transactions",
        params={"starting_after": dave_line["id"]},
        headers=bearer(token("erin", Role.BUYER)),
    )
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_cursor"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": 499, "currency": "usd"}, "topup_amount_out_of_range"),
        ({"amount": 100_001, "currency": "usd"}, "topup_amount_out_of_range"),
        ({"amount": 1000, "currency": "eur"}, "unsupported_currency"),
        ({"amount": 10.5, "currency": "usd"}, "validation_error"),
        ({"amount": "1000", "currency": "USD"}, "validation_error"),
        ({"amount": -5, "currency": "usd"}, "validation_error"),
        ({"currency": "usd"}, "validation_error"),
    ],
)
async def test_bad_topup_requests_are_refused_clearly(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, body: dict[str, object], code: str
) -> None:
    headers = {**bearer(token("alice", Role.BUYER)), "Idempotency-Key": f"bad-{code}"}
    response = await client.post("/wallet/topup_request", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert await services.database["topups"].count_documents({}) == 0


async def test_only_buyers_with_a_token_reach_the_wallet(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    body = {"amount": 1000, "currency": "usd"}
    seller = {**bearer(token("sam", Role.SELLER)), "Idempotency-Key": "k"}
    assert (await client.post("/wallet/topup_request", json=body, headers=seller)).status_code == 403
    assert (await client.get("/wallet", headers=bearer(token("sam", Role.SELLER)))).status_code == 403
    assert (await client.get("/wallet")).status_code == 401
    assert (await client.get("/wallet/transactions")).status_code == 401
    assert (
        await client.post("/wallet/topup_request", json=body, headers={"Idempotency-Key": "k"})
    ).status_code == 401


async def test_another_buyers_topup_is_not_found_exactly_like_an_unknown_one(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    await services.database["topups"].insert_one(
        {
            "_id": "tu_alices",
            "user_id": "alice",
            "amount": 1000,
            "currency": "usd",
            "status": "requires_payment",
        }
    )
    mallory = await client.get("/wallet/topups/tu_alices", headers=bearer(token("mallory", Role.BUYER)))
    alice = await client.get("/wallet/topups/tu_alices", headers=bearer(token("alice", Role.BUYER)))
    unknown = await client.get("/wallet/topups/tu_alices_", headers=bearer(token("mallory", Role.BUYER)))
    assert alice.status_code == 200
    assert alice.json()["client_secret"] is None
    assert mallory.status_code == unknown.status_code == 404
    # The same answer but for the id itself, so it tells nothing about whether the top-up exists.
    assert mallory.json() == {
        **unknown.json(),
        "detail": unknown.json()["detail"].replace("tu_alices_", "tu_alices"),
        "instance": "/wallet/topups/tu_alices",
    }


async def test_reading_the_wallet_costs_four_reads_then_three_then_two_once_the_legacy_side_is_settled(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, command_log: CommandLog
) -> None:
    """Unmigrated, the legacy wallet is read and judged (is its user a marketplace user? asked
    once, a user found is remembered); once migrated, neither is read again. The flags' rules are
    in the process's cache."""
    await insert_legacy_wallet(services.database, "reader", "42.10")
    await credit_platform_wallet(services, "reader", 1500, "reader-topup")
    headers = bearer(token("reader", Role.BUYER))
    await services.feature_flags.states()

    with command_log.recording(services.settings.mongodb_database) as first_reads:
        first = (await client.get("/wallet", headers=headers)).json()
    with command_log.recording(services.settings.mongodb_database) as unmigrated_reads:
        before = (await client.get("/wallet", headers=headers)).json()
    await services.migration.migrate_user("reader", Actor.user("reader"))
    with command_log.recording(services.settings.mongodb_database) as settled_reads:
        after = (await client.get("/wallet", headers=headers)).json()

    assert first == before
    assert (before["legacy_wallet_status"], before["total_balance"]) == ("not_migrated", 5710)
    assert (after["legacy_wallet_status"], after["total_balance"]) == ("migrated", 5710)
    assert sorted((c.name, c.collection) for c in first_reads) == [
        ("aggregate", "topups"),
        ("find", "ledger_accounts"),
        ("find", "users"),
        ("find", "wallets"),
    ]
    assert sorted((c.name, c.collection) for c in unmigrated_reads) == [
        ("aggregate", "topups"),
        ("find", "ledger_accounts"),
        ("find", "wallets"),
    ]
    assert sorted((c.name, c.collection) for c in settled_reads) == [
        ("aggregate", "topups"),
        ("find", "ledger_accounts"),
    ]


async def test_a_user_shown_known_is_asked_again_when_migrated(
    client: httpx.AsyncClient, services: Services, token: TokenFactory
) -> None:
    """Only what is shown relies on the remembered user: a user the marketplace removed since is
    refused by the migration itself, and nothing moves."""
    await insert_legacy_wallet(services.database, "leaver", "9.00")
    shown = (await client.get("/wallet", headers=bearer(token("leaver", Role.BUYER)))).json()
    await services.database[USERS].delete_many({"_id": "leaver"})

    result = await services.migration.migrate_user("leaver", Actor.user("leaver"))

    assert shown["legacy_wallet_status"] == "not_migrated"
    assert (result.status, result.reason) == (LegacyWalletStatus.INVALID, RejectionReason.UNKNOWN_USER)
    assert await services.migration.record("leaver") is None
