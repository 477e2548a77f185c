"""Admin notifications: every new dispute gets one, listed and marked read by admins; with a
notification URL it is POSTed there, signed, by the outbox job (retried after a failure), never
by the request that opened the dispute."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.adapters.notification_sender import SIGNATURE_HEADER
from app.auth import Role
from app.config import Settings
from app.services.notifications import run_notification_delivery
from tests.checkout_support import SELLER_B, Marketplace
from tests.conftest import make_settings
from tests.routers.disputes.support import ADMIN, open_dispute, paid_order

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer

SECRET = "notification-secret-for-tests"


@dataclass
class Receiver:
    """The marketplace's notification endpoint: refuses the first `failures` POSTs."""

    failures: int = 1
    received: list[tuple[bytes, str]] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        if self.failures:
            self.failures -= 1
            return Response(status_code=503)
        self.received.append((body, request.headers[SIGNATURE_HEADER]))
        return Response(status_code=204)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    from stripe_emulator.testing import BackgroundServer

    endpoint = Receiver()
    app = Starlette(routes=[Route("/notify", endpoint.receive, methods=["POST"])])
    with BackgroundServer(app) as server:
        yield endpoint, f"{server.base_url}/notify"


@pytest.fixture
def settings(mongodb_uri: str, emulator: EmulatorServer, receiver: tuple[Receiver, str]) -> Settings:
    return make_settings(
        mongodb_uri,
        stripe_api_base=emulator.base_url,
        webhook_worker_enabled=False,
        notification_url=receiver[1],
        notification_secret=SECRET,
        notification_retry_base_seconds=0,
    )


def verified(body: bytes, header: str) -> dict[str, Any]:
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    payload: dict[str, Any] = json.loads(body)
    return payload


async def test_a_new_dispute_notifies_admins_and_is_posted_signed_by_the_outbox(
    market: Marketplace, receiver: tuple[Receiver, str]
) -> None:
    endpoint, _ = receiver
    order = await paid_order(market, "buyer-n", [("prod_tea", 1)], key="n-1")
    dispute = (await open_dispute(market, "buyer-n", order["order_id"], SELLER_B, key="n-d")).json()
    assert endpoint.received == []  # the request did not wait on the receiver

    listed = await market.client.get(
        "/admin/notifications?unread=true", headers=market.headers(ADMIN, Role.ADMIN)
    )
    (notification,) = listed.json()["data"]
    assert (notification["kind"], notification["subject_id"], notification["delivery"]) == (
        "dispute.opened",
        dispute["dispute_id"],
        "pending",
    )
    assert notification["facts"]["amount"] == 1299

    # The receiver refuses the first POST; with no backoff configured, the retry comes at once.
    first = await run_notification_delivery(market.database, market.services.notifications)
    assert first == {"retrying": 1, "delivered": 1}
    assert await run_notification_delivery(market.database, market.services.notifications) == {}
    ((body, signature),) = endpoint.received
    payload = verified(body, signature)
    assert (payload["kind"], payload["subject"]) == (
        "dispute.opened",
        {"type": "dispute", "id": dispute["dispute_id"]},
    )

    read = await market.client.post(
        f"/admin/notifications/{notification['notification_id']}/read",
        headers=market.headers(ADMIN, Role.ADMIN),
    )
    assert (read.json()["read"], read.json()["read_by"], read.json()["delivery"]) == (
        True,
        ADMIN,
        "delivered",
    )
    again = await market.client.post(
        f"/admin/notifications/{notification['notification_id']}/read",
        headers=market.headers("admin-2", Role.ADMIN),
    )
    assert again.json()["read_by"] == ADMIN
    assert (
        await market.client.get("/admin/notifications?unread=true", headers=market.headers(ADMIN, Role.ADMIN))
    ).json()["data"] == []
    support = await market.client.post(
        f"/admin/notifications/{notification['notification_id']}/read",
        headers=market.headers("s", Role.SUPPORT),
    )
    assert support.status_code == 403
    unknown = await market.client.post(
        "/admin/notifications/ntf_x/read", headers=market.headers(ADMIN, Role.ADMIN)
    )
    assert unknown.status_code == 404
    buyer = await market.client.get("/admin/notifications", headers=market.headers("buyer-n"))
    assert buyer.status_code == 403


async def test_a_notification_that_keeps_failing_stops_after_the_last_attempt(
    market: Marketplace, receiver: tuple[Receiver, str]
) -> None:
    endpoint, _ = receiver
    endpoint.failures = 100
    order = await paid_order(market, "buyer-n", [("prod_tea", 1)], key="n-2")
    await open_dispute(market, "buyer-n", order["order_id"], SELLER_B, key="n-d2")
    attempts = market.settings.notification_max_attempts
    outcome = await run_notification_delivery(market.database, market.services.notifications)
    assert outcome == {"retrying": attempts - 1, "failed": 1}
    assert await run_notification_delivery(market.database, market.services.notifications) == {}
    listed = await market.client.get("/admin/notifications", headers=market.headers(ADMIN, Role.SUPPORT))
    assert listed.json()["data"][0]["delivery"] == "failed"
    assert endpoint.received == []
