"""Lists and searches page as Stripe's do, so the SDK's auto-pagination works."""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator.testing import EmulatorServer
from tests.stripe_emulator.support import funded_platform, paid_intent, verified_account


async def make_transfers(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer, count: int
) -> list[str]:
    account = await verified_account(stripe_client, emulator)
    await funded_platform(stripe_client, emulator, 100_000)
    ids = []
    for amount in range(1, count + 1):
        created = await stripe_client.v1.transfers.create_async(
            {"amount": amount * 100, "currency": "usd", "destination": account}
        )
        ids.append(created.id)
    return ids


async def test_auto_paging_walks_every_page_newest_first(
    stripe_client: stripe.StripeClient, emulator: EmulatorServer
) -> None:
    created = await make_transfers(stripe_client, emulator, 25)

    first_page = await stripe_client.v1.transfers.list_async({"limit": 10})
    walked = [transfer.id async for transfer in first_page.auto_paging_iter()]

    assert first_page.has_more is True
    assert first_page.url == "/v1/transfers"
    assert walked == list(reversed(created))


async def test_pages_before_a_cursor(stripe_client: stripe.StripeClient, emulator: EmulatorServer) -> None:
    created = await make_transfers(stripe_client, emulator, 7)
    newest_first = list(reversed(created))

    older = await stripe_client.v1.transfers.list_async({"limit": 3, "starting_after": newest_first[2]})
    newer = await stripe_client.v1.transfers.list_async({"limit": 2, "ending_before": newest_first[5]})

    assert [t.id for t in older.data] == newest_first[3:6]
    assert older.has_more is True
    assert [t.id for t in newer.data] == newest_first[3:5]
    assert newer.has_more is True


async def test_an_unknown_cursor_or_a_bad_limit_is_refused(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await stripe_client.v1.transfers.list_async({"starting_after": "tr_nope"})
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        await stripe_client.v1.transfers.list_async({"limit": 101})

    assert unknown.value.param == "starting_after"
    assert too_many.value.param == "limit"


async def test_event_lists_filter_by_type_with_wildcards(
    stripe_client: stripe.StripeClient,
) -> None:
    await paid_intent(stripe_client)

    intents = await stripe_client.v1.events.list_async({"type": "payment_intent.*"})
    charges = await stripe_client.v1.events.list_async({"types": ["charge.succeeded"]})

    assert [event.type for event in intents.data] == [
        "payment_intent.succeeded",
        "payment_intent.created",
    ]
    assert [event.type for event in charges.data] == ["charge.succeeded"]
    fetched = await stripe_client.v1.events.retrieve_async(charges.data[0].id)
    assert fetched.type == "charge.succeeded"


async def test_search_results_page_too(stripe_client: stripe.StripeClient) -> None:
    wanted = [(await paid_intent(stripe_client, metadata={"buyer": "b1"})).id for _ in range(5)]
    await paid_intent(stripe_client, metadata={"buyer": "b2"})

    page = await stripe_client.v1.payment_intents.search_async(
        {"query": "metadata['buyer']:'b1'", "limit": 2}
    )
    walked = [intent.id async for intent in page.auto_paging_iter()]

    assert page.has_more is True
    assert walked == list(reversed(wanted))
