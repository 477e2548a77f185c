"""The database going away in the middle of a checkout: this module's own SecantusDB server,
stopped inside the checkout's transaction and started again on the same port and data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.db import Collections
from app.domain.ledger import Accounts
from tests.checkout_support import SELLER_B, Marketplace
from tests.mongo_server import SecantusProcess

DOWN_FOR_SECONDS = 1.5


@pytest.fixture
def database_server(tmp_path: Path) -> Iterator[SecantusProcess]:
    server = SecantusProcess(str(tmp_path / "secantus"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mongodb_uri(database_server: SecantusProcess) -> str:
    """The app of this module uses its own server, so stopping it disturbs no other test."""
    return database_server.uri


async def test_a_checkout_cut_off_by_the_database_going_away_completes_once_when_it_is_back(
    market: Marketplace, database_server: SecantusProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server stops after the checkout's transaction read the wallet and before it wrote:
    readiness fails while it is down, the request waits, and once the server is back the
    transaction is retried whole by the same process; the same Idempotency-Key answers the same
    order, and the wallet paid once."""
    await market.top_up("buyer-o", 3000)
    wallet = market.services.wallet_funds
    spend = wallet.spend_across_in
    gone = asyncio.Event()

    async def database_gone_before_the_debit(*args: Any, **kwargs: Any) -> None:
        if not gone.is_set():
            await asyncio.to_thread(database_server.stop)
            gone.set()
        await spend(*args, **kwargs)

    monkeypatch.setattr(wallet, "spend_across_in", database_gone_before_the_debit)
    lines = [("prod_board", 1)]
    checkout = asyncio.create_task(market.checkout("buyer-o", lines, key="outage-1", use_wallet=True))
    await gone.wait()

    not_ready = await market.client.get("/readyz")
    assert (not_ready.status_code, not_ready.json()["code"]) == (503, "not_ready")
    await asyncio.sleep(DOWN_FOR_SECONDS)
    assert not checkout.done()
    await asyncio.to_thread(database_server.start)

    opened = await checkout
    assert opened.status_code == 201, opened.text
    assert (await market.client.get("/readyz")).json() == {"status": "ready"}
    order = opened.json()
    assert order["funding"] == {"legacy": 0, "wallet": 3000, "card": 6999 - 3000}
    retried = await market.checkout("buyer-o", lines, key="outage-1", use_wallet=True)
    assert (retried.status_code, retried.json()) == (201, order)

    assert await market.database[Collections.ORDERS].count_documents({}) == 1
    entries = market.database[Collections.JOURNAL_ENTRIES].find({"refs.order": order["order_id"]})
    assert [entry["_id"] async for entry in entries] == [f"checkout:{order['order_id']}"]
    assert await market.balance(Accounts.buyer_wallet("buyer-o")) == 0
    assert await market.balance(Accounts.escrow(order["order_id"], SELLER_B)) == 3000
    intents = await market.emulator.stripe_client().v1.payment_intents.list_async({"limit": 10})
    assert [i.metadata["order_id"] for i in intents.data if "order_id" in i.metadata] == [order["order_id"]]
    assert (await market.pay_by_card(order)).status_code == 200
    await market.pump()
    assert await market.balance(Accounts.escrow(order["order_id"], SELLER_B)) == 6999
    await market.assert_invariants()
