"""Webhook delivery: Stripe's signatures, retries, order, pauses and duplicates."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from stripe_emulator.testing import EmulatorControlError, EmulatorServer
from tests.stripe_emulator.support import (
    WebhookReceiver,
    new_account,
    paid_intent,
)

Deliveries = list[dict[str, Any]]


def delivered(count: int) -> Callable[[Deliveries], bool]:
    def condition(log: Deliveries) -> bool:
        return sum(bool(record["delivered"]) for record in log) >= count

    return condition


async def test_platform_events_are_signed_with_the_platform_secret(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    await paid_intent(stripe_client)
    emulator.wait_for_deliveries(delivered(3))

    settings = emulator.settings
    for webhook in receiver.received:
        event = stripe.Webhook.construct_event(webhook.body, webhook.signature, settings.webhook_secret)
        assert event.livemode is False
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(webhook.body, webhook.signature, settings.connect_webhook_secret)


async def test_connect_events_are_signed_with_the_connect_secret(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    account = await new_account(stripe_client)
    emulator.control(f"accounts/{account.id}/verify")
    emulator.wait_for_deliveries(delivered(3))

    events = []
    for webhook in receiver.received:
        events.append(
            stripe.Webhook.construct_event(
                webhook.body, webhook.signature, emulator.settings.connect_webhook_secret
            )
        )
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(webhook.body, webhook.signature, emulator.settings.webhook_secret)
    assert [(event.type, event.account) for event in events] == [
        ("account.external_account.created", account.id),
        ("capability.updated", account.id),
        ("account.updated", account.id),
    ]


async def test_the_payload_is_the_event_with_stripes_shape(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    await stripe_client.v1.payment_intents.create_async(
        {"amount": 900, "currency": "usd"}, {"idempotency_key": "create-1"}
    )
    emulator.wait_for_deliveries(delivered(1))

    event = receiver.received[0].event
    assert event["object"] == "event"
    assert event["id"].startswith("evt_")
    assert event["api_version"] == stripe.api_version
    assert event["type"] == "payment_intent.created"
    assert event["data"]["object"]["object"] == "payment_intent"
    assert event["request"]["idempotency_key"] == "create-1"
    assert event["request"]["id"].startswith("req_")
    assert "account" not in event


async def test_events_are_delivered_in_creation_order(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    for _ in range(3):
        await paid_intent(stripe_client)
    emulator.wait_for_deliveries(delivered(9))

    created_order = [event["id"] for event in reversed(emulator.events())]
    assert receiver.event_ids() == created_order


async def test_events_after_one_are_those_created_since_newest_first(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    await paid_intent(stripe_client)
    [*_, oldest] = seen = emulator.events()
    await new_account(stripe_client)
    await paid_intent(stripe_client)

    everything = emulator.events()
    assert emulator.events(after=seen[0]["id"]) == everything[: len(everything) - len(seen)]
    assert len(everything) > len(seen)
    assert emulator.events(after=everything[0]["id"]) == []
    assert emulator.events(after=oldest["id"]) == everything[:-1]
    with pytest.raises(EmulatorControlError, match="No such event"):
        emulator.events(after="evt_unknown")


async def test_a_failed_delivery_is_retried(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    receiver.statuses.extend([500, 503])
    await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})

    log = await emulator.wait_for_deliveries_async(delivered(1))

    assert [(record["attempt"], record["status_code"]) for record in log] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    assert len({webhook.body for webhook in receiver.received}) == 1


async def test_an_unreachable_endpoint_is_retried_up_to_the_limit(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    emulator.configure(webhook_url=f"http://127.0.0.1:{port}/webhooks")
    await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})

    log = emulator.wait_for_deliveries(lambda log: len(log) == 3)

    assert [record["attempt"] for record in log] == [1, 2, 3]
    assert all(record["status_code"] is None and record["error"] for record in log)


async def test_paused_events_are_delivered_when_and_as_often_as_asked(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    emulator.control("delivery", paused=True)
    first = await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})
    second = await stripe_client.v1.payment_intents.cancel_async(first.id)
    created, canceled = (event["id"] for event in reversed(emulator.events()))
    assert emulator.inspect("delivery")["held"] == [created, canceled]

    emulator.control(f"events/{canceled}/deliver", wait=True)
    emulator.control(f"events/{created}/deliver", times=2, wait=True)
    emulator.control("delivery", paused=False)

    assert second.status == "canceled"
    assert receiver.event_ids() == [canceled, created, created]
    assert emulator.inspect("delivery")["held"] == []


async def test_resuming_delivers_the_held_events_in_order(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    emulator.control("delivery", paused=True)
    await paid_intent(stripe_client)
    assert receiver.received == []

    emulator.control("delivery", paused=False)
    emulator.wait_for_deliveries(delivered(3))

    assert receiver.event_ids() == [event["id"] for event in reversed(emulator.events())]


async def test_a_queued_redelivery_duplicates_the_event(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    await stripe_client.v1.payment_intents.create_async({"amount": 900, "currency": "usd"})
    emulator.wait_for_deliveries(delivered(1))
    [event] = emulator.events()

    assert emulator.control(f"events/{event['id']}/deliver", times=2) == {"queued": 2}
    emulator.wait_for_deliveries(delivered(3))

    assert receiver.event_ids() == [event["id"]] * 3
    assert emulator.events()[0]["pending_webhooks"] == 0


async def test_with_a_duplicate_rate_of_one_every_event_arrives_twice_in_a_row(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    emulator.configure(delivery_duplicate_rate=1)
    await paid_intent(stripe_client)

    emulator.wait_for_deliveries(delivered(6))

    created_order = [event["id"] for event in reversed(emulator.events())]
    assert receiver.event_ids() == [event_id for event_id in created_order for _ in range(2)]


async def test_a_reorder_window_delivers_queued_events_out_of_order_each_once(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, receiver: WebhookReceiver
) -> None:
    emulator.configure(delivery_reorder_window=64)
    emulator.control("delivery", paused=True)
    for _ in range(8):
        await paid_intent(stripe_client)
    created_order = [event["id"] for event in reversed(emulator.events())]

    emulator.control("delivery", paused=False)
    emulator.wait_for_deliveries(delivered(len(created_order)))

    # 24 events shuffled: the chance of creation order by luck is 1 in 24!.
    assert receiver.event_ids() != created_order
    assert sorted(receiver.event_ids()) == sorted(created_order)


@pytest.mark.parametrize(
    "setting",
    [
        {"delivery_duplicate_rate": 1.5},
        {"delivery_duplicate_rate": None},
        {"delivery_reorder_window": 0},
        {"delivery_reorder_window": 2.5},
    ],
)
def test_delivery_settings_out_of_range_are_refused(
    emulator: EmulatorServer, setting: dict[str, Any]
) -> None:
    with pytest.raises(EmulatorControlError) as refused:
        emulator.configure(**setting)

    assert refused.value.status == 400
    config = emulator.inspect("config")
    assert (config["delivery_duplicate_rate"], config["delivery_reorder_window"]) == (0, 1)
