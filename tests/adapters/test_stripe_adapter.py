"""Every adapter method against the emulator, over real HTTP through the real SDK."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import httpx
import respx
import stripe

from app.adapters import stripe_adapter
from app.adapters.payment_provider import DisputeEvidence, PaymentProvider
from app.adapters.stripe_adapter import StripeAdapter
from tests.adapters.emulator_helpers import (
    drop_responses,
    onboarded_seller,
    paid_order,
    transfer_ids,
    whole_day,
)

if TYPE_CHECKING:
    from stripe_emulator.testing import EmulatorServer


def raw_client(emulator: EmulatorServer) -> stripe.StripeClient:
    return emulator.stripe_client()


def test_the_adapter_is_a_payment_provider(provider: StripeAdapter) -> None:
    typed: PaymentProvider = provider
    assert typed is provider


async def test_a_connected_account_is_created_platform_controlled(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    account = await provider.create_connected_account(
        "seller_1", "s1@example.com", "US", {"tier": "gold"}, idempotency_key="account:seller_1"
    )

    assert account.metadata == {"tier": "gold", "seller_id": "seller_1"}
    assert not account.payouts_enabled
    assert account.requirements_due
    raw = await raw_client(emulator).v1.accounts.retrieve_async(account.id)
    assert raw.controller is not None
    controller = raw.controller.to_dict()
    expected = {
        "fees": {"payer": "application"},
        "losses": {"payments": "application"},
        "requirement_collection": "application",
        "stripe_dashboard": {"type": "none"},
    }
    assert {name: controller[name] for name in expected} == expected
    assert raw.to_dict()["settings"]["payouts"]["schedule"]["interval"] == "manual"
    assert raw.to_dict()["tos_acceptance"]["service_agreement"] == "recipient"


async def test_creating_the_same_seller_twice_returns_one_account(provider: StripeAdapter) -> None:
    first = await provider.create_connected_account(
        "seller_1", "s1@example.com", "US", idempotency_key="account:seller_1"
    )
    again = await provider.create_connected_account(
        "seller_1", "s1@example.com", "US", idempotency_key="account:seller_1"
    )
    assert again.id == first.id


async def test_an_account_link_onboards_and_the_account_becomes_verified(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    account = await provider.create_connected_account(
        "seller_1", "s1@example.com", "US", idempotency_key="account:seller_1"
    )
    sent: list[httpx.Request] = []
    with respx.mock(using="httpx", assert_all_mocked=False, assert_all_called=False) as mock:
        mock.post(path="/v1/account_links").mock(side_effect=lambda request: sent.append(request) or request)
        mock.route().pass_through()
        link = await provider.create_account_link(
            account.id,
            "https://m.example/refresh",
            "https://m.example/done",
            idempotency_key="account_link:1",
        )
    assert link.url.startswith(f"{emulator.base_url}/_emulator/onboarding/")
    assert link.expires_at > 0
    [request] = sent
    assert request.headers["idempotency-key"] == "account_link:1"
    assert parse_qs(request.content.decode()) == {
        "account": [account.id],
        "refresh_url": ["https://m.example/refresh"],
        "return_url": ["https://m.example/done"],
        "type": ["account_onboarding"],
        "collection_options[fields]": ["eventually_due"],
    }

    await emulator.control_async(f"accounts/{account.id}/verify")
    verified = await provider.retrieve_account(account.id)
    assert verified.transfers_capability == "active"
    assert verified.payouts_enabled
    assert verified.requirements_due == ()


async def test_a_link_request_retried_gets_its_link_again_and_another_request_a_fresh_one(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    account = await provider.create_connected_account(
        "seller_1", "s1@example.com", "US", idempotency_key="account:seller_1"
    )
    await drop_responses(emulator, "/v1/account_links", count=1)

    first = await provider.create_account_link(
        account.id, "https://m.example/refresh", "https://m.example/done", idempotency_key="account_link:a"
    )
    again = await provider.create_account_link(
        account.id, "https://m.example/refresh", "https://m.example/done", idempotency_key="account_link:a"
    )
    other = await provider.create_account_link(
        account.id, "https://m.example/refresh", "https://m.example/done", idempotency_key="account_link:b"
    )

    assert again.url == first.url, "the lost answer's link, replayed, not a second link"
    assert other.url != first.url


async def test_card_payments_are_requested_only_when_asked_under_the_full_agreement(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    recipient = await provider.create_connected_account(
        "seller_1", "s1@example.com", "US", idempotency_key="account:seller_1"
    )
    full = await provider.create_connected_account(
        "seller_2", "s2@example.com", "US", card_payments=True, idempotency_key="account:seller_2"
    )

    assert set(recipient.capabilities) == {"transfers"}
    assert set(full.capabilities) == {"transfers", "card_payments"}
    agreements = []
    for account in (recipient, full):
        raw = await raw_client(emulator).v1.accounts.retrieve_async(account.id)
        agreements.append(raw.to_dict()["tos_acceptance"]["service_agreement"])
    assert agreements == ["recipient", "full"]
    assert recipient.created is not None


async def test_checkout_charges_the_platform_account_only(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    intent = await provider.create_payment_intent_on_platform(
        "order_1", 2500, "usd", {"buyer_id": "b1"}, idempotency_key="checkout:order_1"
    )

    assert (intent.amount, intent.currency, intent.status) == (2500, "usd", "requires_payment_method")
    assert intent.client_secret
    assert intent.metadata == {"buyer_id": "b1", "order_id": "order_1", "purpose": "checkout"}
    raw = await raw_client(emulator).v1.payment_intents.retrieve_async(intent.id)
    assert raw.transfer_group == "order_1"
    assert raw.on_behalf_of is None
    assert raw.transfer_data is None
    assert raw.to_dict()["automatic_payment_methods"]["enabled"] is True
    again = await provider.create_payment_intent_on_platform(
        "order_1", 2500, "usd", {"buyer_id": "b1"}, idempotency_key="checkout:order_1"
    )
    assert again.id == intent.id


def test_the_adapter_never_confirms_a_payment_on_the_buyers_behalf() -> None:
    """Buyers confirm in their browser with Stripe Elements. A server-side confirm would send no
    idempotency key and map its failures like a read, so the production adapter has none."""
    assert not [name for name in dir(StripeAdapter) if "confirm" in name]
    assert ".confirm" not in inspect.getsource(stripe_adapter)


async def test_a_topup_intent_is_retrieved_once_paid_and_another_canceled(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    topup = await provider.create_topup_intent(
        "topup_1", "user_1", 5000, "usd", idempotency_key="topup:topup_1"
    )
    assert topup.metadata == {"topup_id": "topup_1", "user_id": "user_1", "purpose": "wallet_topup"}

    await emulator.control_async(f"payment_intents/{topup.id}/succeed")  # the buyer pays in the browser
    paid = await provider.retrieve_payment_intent(topup.id)
    assert paid.status == "succeeded"
    assert paid.latest_charge

    abandoned = await provider.create_topup_intent(
        "topup_2", "user_1", 700, "usd", idempotency_key="topup:topup_2"
    )
    canceled = await provider.cancel_payment_intent(
        abandoned.id, idempotency_key=f"cancel_payment_intent:{abandoned.id}"
    )
    assert canceled.status == "canceled"


async def test_a_transfer_goes_to_the_seller_and_can_be_reversed_in_part(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    seller = await onboarded_seller(provider, emulator, "seller_1")
    order = await paid_order(provider, emulator, "order_1", 10_000)

    transfer = await provider.create_transfer_to_seller(
        "escrow_1",
        "order_1",
        seller,
        9000,
        "usd",
        order.latest_charge,
        {"seller_id": "seller_1"},
        idempotency_key="transfer:escrow_1",
    )
    assert (transfer.amount, transfer.destination, transfer.transfer_group) == (9000, seller, "order_1")
    assert transfer.source_transaction == order.latest_charge
    assert transfer.metadata == {"seller_id": "seller_1", "escrow_id": "escrow_1", "order_id": "order_1"}
    assert (await provider.retrieve_balance(seller)).available_in("usd") == 9000

    reversal = await provider.reverse_transfer(
        "reversal_1", transfer.id, 4000, idempotency_key="reversal:reversal_1"
    )
    assert (reversal.transfer, reversal.amount, reversal.metadata) == (
        transfer.id,
        4000,
        {"reversal_id": "reversal_1"},
    )
    assert (await provider.retrieve_balance(seller)).available_in("usd") == 5000
    second = await provider.reverse_transfer(
        "reversal_2", transfer.id, 1000, idempotency_key="reversal:reversal_2"
    )
    listed = [r.id async for r in provider.iter_transfer_reversals(transfer.id)]
    assert sorted(listed) == sorted([reversal.id, second.id])
    assert await provider.retrieve_transfer_reversal(transfer.id, second.id) == second


async def test_a_refund_returns_part_of_a_payment(provider: StripeAdapter, emulator: EmulatorServer) -> None:
    order = await paid_order(provider, emulator, "order_1", 3000)

    refund = await provider.create_refund(
        "refund_1", order.id, 1000, "requested_by_customer", {"x": "y"}, idempotency_key="refund:refund_1"
    )

    assert (refund.payment_intent, refund.amount, refund.currency) == (order.id, 1000, "usd")
    assert refund.charge == order.latest_charge
    assert refund.reason == "requested_by_customer"
    assert refund.metadata == {"x": "y", "refund_id": "refund_1"}


async def test_a_payout_leaves_the_connected_account(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    seller = await onboarded_seller(provider, emulator, "seller_1")
    order = await paid_order(provider, emulator, "order_1", 10_000)
    await provider.create_transfer_to_seller(
        "escrow_1", "order_1", seller, 9000, "usd", order.latest_charge, idempotency_key="transfer:escrow_1"
    )

    payout = await provider.create_payout("payout_1", seller, 6000, "usd", idempotency_key="payout:payout_1")

    assert (payout.amount, payout.currency, payout.metadata) == (6000, "usd", {"payout_id": "payout_1"})
    assert (await provider.retrieve_balance(seller)).available_in("usd") == 3000
    assert [p.id async for p in provider.iter_payouts(*whole_day(), account=seller)] == [payout.id]
    assert [p.id async for p in provider.iter_payouts(*whole_day())] == []  # the platform paid nothing out

    await emulator.control_async(f"payouts/{payout.id}/fail", failure_code="account_closed")
    failed = await provider.retrieve_payout(seller, payout.id)
    assert (failed.status, failed.failure_code, failed.automatic) == ("failed", "account_closed", False)
    assert failed.failure_message == "The bank account has been closed."


async def test_a_chargeback_is_answered_with_evidence_then_accepted(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    order = await paid_order(provider, emulator, "order_1", 4000)
    opened = await emulator.control_async(f"charges/{order.latest_charge}/dispute", reason="fraudulent")

    dispute = await provider.retrieve_dispute(opened["id"])
    assert (dispute.payment_intent, dispute.amount, dispute.status) == (order.id, 4000, "needs_response")
    assert dispute.evidence_due_by

    evidence = DisputeEvidence(product_description="A lamp", shipping_tracking_number="1Z999")
    answered = await provider.submit_dispute_evidence(
        dispute.id, evidence, submit=False, idempotency_key="dispute_evidence:evidence_1"
    )
    assert answered.status == "needs_response"
    raw = await raw_client(emulator).v1.disputes.retrieve_async(dispute.id)
    assert raw.evidence.product_description == "A lamp"

    closed = await provider.close_dispute(dispute.id, idempotency_key=f"dispute_close:{dispute.id}")
    assert closed.status == "lost"
    assert [d.id async for d in provider.iter_disputes(*whole_day())] == [dispute.id]


def test_dispute_evidence_fields_are_stripe_evidence_fields() -> None:
    stripe_fields = set(stripe.params.DisputeUpdateParamsEvidence.__annotations__)
    assert set(DisputeEvidence.__dataclass_fields__) <= stripe_fields


async def test_listings_walk_every_page_of_a_window(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    seller = await onboarded_seller(provider, emulator, "seller_1")
    order = await paid_order(provider, emulator, "order_1", 10_000)
    for n in range(5):
        await provider.create_transfer_to_seller(
            f"escrow_{n}",
            "order_1",
            seller,
            100,
            "usd",
            order.latest_charge,
            idempotency_key=f"transfer:escrow_{n}",
        )
        await provider.create_refund(f"refund_{n}", order.id, 10, idempotency_key=f"refund:refund_{n}")

    assert len(await transfer_ids(provider)) == 5  # three pages of two
    assert len([r async for r in provider.iter_refunds(*whole_day())]) == 5
    assert [i.id async for i in provider.iter_payment_intents(*whole_day())] == [order.id]
    platform = [t async for t in provider.iter_balance_transactions(*whole_day())]
    assert {t.type for t in platform} >= {"charge", "transfer", "refund"}
    on_seller = [t async for t in provider.iter_balance_transactions(*whole_day(), account=seller)]
    assert sum(t.net for t in on_seller) == 500

    start, end = whole_day()
    assert [t async for t in provider.iter_transfers(end, end + (end - start))] == []


async def test_objects_are_found_by_the_metadata_we_gave_them(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    since, _ = whole_day()
    seller = await onboarded_seller(provider, emulator, "seller_1")
    topup = await provider.create_topup_intent(
        "topup_1", "user_1", 900, "usd", idempotency_key="topup:topup_1"
    )
    order = await paid_order(provider, emulator, "order_1", 10_000)
    transfer = await provider.create_transfer_to_seller(
        "escrow_1", "order_1", seller, 500, "usd", idempotency_key="transfer:escrow_1"
    )
    reversal = await provider.reverse_transfer(
        "reversal_1", transfer.id, 100, idempotency_key="reversal:reversal_1"
    )
    refund = await provider.create_refund("refund_1", order.id, 100, idempotency_key="refund:refund_1")
    payout = await provider.create_payout("payout_1", seller, 200, "usd", idempotency_key="payout:payout_1")

    found = [
        await provider.find_account_by_metadata("seller_id", "seller_1", since),
        await provider.find_payment_intent_by_metadata("topup_id", "topup_1"),
        await provider.find_transfer_by_metadata("escrow_id", "escrow_1", since),
        await provider.find_reversal_by_metadata(transfer.id, "reversal_id", "reversal_1"),
        await provider.find_refund_by_metadata("refund_id", "refund_1", since),
        await provider.find_payout_by_metadata(seller, "payout_id", "payout_1", since),
    ]
    assert [item.id if item else None for item in found] == [
        seller,
        topup.id,
        transfer.id,
        reversal.id,
        refund.id,
        payout.id,
    ]
    assert await provider.find_transfer_by_metadata("escrow_id", "escrow_404", since) is None
    assert await provider.find_payment_intent_by_metadata("topup_id", "topup_404") is None


async def test_a_charge_is_read_with_its_balance_transaction_once_stripe_has_it(
    provider: StripeAdapter, emulator: EmulatorServer
) -> None:
    intent = await provider.create_topup_intent(
        "topup_c", "user_c", 10_000, "usd", idempotency_key="topup:topup_c"
    )
    await emulator.control_async(f"payment_intents/{intent.id}/succeed")
    charge_id = (await provider.retrieve_payment_intent(intent.id)).latest_charge
    assert charge_id is not None

    before = await provider.retrieve_charge(charge_id)  # deferred settlement: not known yet
    await emulator.control_async(f"charges/{charge_id}/balance_transaction")
    after = await provider.retrieve_charge(charge_id)

    assert (before.balance_transaction, before.settlement) == (None, None)
    assert after.settlement is not None
    assert after.balance_transaction == after.settlement.id
    assert (after.settlement.amount, after.settlement.fee, after.settlement.net) == (10_000, 320, 9_680)
    assert after.payment_intent == intent.id
