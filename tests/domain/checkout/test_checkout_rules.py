"""Checkout's pure rules: pricing refusals name their line, escrows split per seller exactly,
the wallet's money is laid over the escrows to the cent, and transfers add up to the net."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.catalog import Product
from app.domain.checkout import (
    CardAmountBelowMinimum,
    CheckoutLimits,
    DuplicateProduct,
    Funding,
    LineRequest,
    MixedCurrencies,
    OrderLine,
    ProductUnavailable,
    QuantityOutOfRange,
    TooManyLines,
    TransferPart,
    UnknownProduct,
    check_request,
    escrow_plans,
    fund_escrows,
    order_id_for,
    price_lines,
    transfer_parts,
)
from app.domain.fees import FeeSchedule
from app.errors import ServiceError

LIMITS = CheckoutLimits(max_lines=3, max_quantity=10)
PRODUCTS = {
    "p1": Product("p1", "s1", "One", 1000, "usd", True),
    "p2": Product("p2", "s2", "Two", 250, "usd", True),
    "off": Product("off", "s1", "Off", 100, "usd", False),
    "eur": Product("eur", "s2", "Euro", 100, "eur", True),
}

amounts = st.integers(min_value=0, max_value=10**7)


@pytest.mark.parametrize(
    ("lines", "error", "line"),
    [
        ([LineRequest("p1", 0)], QuantityOutOfRange, 0),
        ([LineRequest("p1", 1), LineRequest("p2", 10**9)], QuantityOutOfRange, 1),
        ([LineRequest("p1", 1), LineRequest("p1", 2)], DuplicateProduct, 1),
    ],
)
def test_a_bad_line_is_refused_before_the_catalog_is_read(
    lines: list[LineRequest], error: type[ServiceError], line: int
) -> None:
    with pytest.raises(error) as refused:
        check_request(lines, "usd", "usd", LIMITS)
    assert refused.value.extensions["line"] == line


def test_too_many_lines_are_refused() -> None:
    with pytest.raises(TooManyLines):
        check_request([LineRequest(f"p{i}", 1) for i in range(4)], "usd", "usd", LIMITS)


@pytest.mark.parametrize(
    ("product_id", "error"),
    [("nope", UnknownProduct), ("off", ProductUnavailable), ("eur", MixedCurrencies)],
)
def test_a_line_the_catalog_cannot_sell_is_refused_naming_it(product_id: str, error: type[Exception]) -> None:
    with pytest.raises(error, match="line 1"):
        price_lines([LineRequest("p1", 1), LineRequest(product_id, 1)], PRODUCTS, "usd")


def test_lines_are_priced_from_the_catalog_and_split_per_seller_in_seller_order() -> None:
    lines = price_lines([LineRequest("p2", 3), LineRequest("p1", 2)], PRODUCTS, "usd")
    assert [(line.seller_id, line.line_total) for line in lines] == [("s2", 750), ("s1", 2000)]
    plans = escrow_plans(lines, FeeSchedule(bps=1000, fixed=0), "usd")
    assert [(p.seller_id, p.gross, p.fee, p.net) for p in plans] == [
        ("s1", 2000, 200, 1800),
        ("s2", 750, 75, 675),
    ]


def test_the_order_id_is_the_buyer_and_key_and_nothing_else() -> None:
    assert order_id_for("b", "k") == order_id_for("b", "k")
    assert len({order_id_for("b", "k"), order_id_for("b", "k2"), order_id_for("b2", "k")}) == 3


@given(
    grosses=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=6),
    legacy=amounts,
    platform=amounts,
)
def test_the_wallet_is_laid_over_the_escrows_exactly_legacy_first(
    grosses: list[int], legacy: int, platform: int
) -> None:
    fundings = fund_escrows(grosses, legacy, platform, 0, "usd")
    total = sum(grosses)
    assert [funding.total for funding in fundings] == grosses
    assert all(min(f.legacy, f.wallet, f.card) >= 0 for f in fundings)
    assert sum(f.legacy for f in fundings) == min(legacy, total)
    assert sum(f.wallet for f in fundings) == min(platform, total - min(legacy, total))
    assert sum(fundings, Funding()).card == total - min(legacy + platform, total)
    # Consecutive stretches: once an escrow takes card money, every later one is card only.
    first_card = next((i for i, f in enumerate(fundings) if f.card), len(fundings))
    assert all(f.legacy == f.wallet == 0 for f in fundings[first_card + 1 :])


@given(
    grosses=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=6),
    legacy=amounts,
    platform=amounts,
    card_minimum=st.integers(min_value=1, max_value=20_000),
)
def test_the_card_pays_nothing_or_at_least_the_minimum_and_the_parts_pay_the_total(
    grosses: list[int], legacy: int, platform: int, card_minimum: int
) -> None:
    total = sum(grosses)
    if total < card_minimum and legacy + platform < total:
        # No split exists: the card could only pay nothing, and the wallet cannot pay it all.
        with pytest.raises(CardAmountBelowMinimum) as refused:
            fund_escrows(grosses, legacy, platform, card_minimum, "usd")
        assert refused.value.extensions == {"minimum": card_minimum, "currency": "usd"}
        return
    fundings = fund_escrows(grosses, legacy, platform, card_minimum, "usd")
    paid = sum(fundings, Funding())
    assert paid.card == 0 or paid.card >= card_minimum
    assert paid.total == total
    assert [funding.total for funding in fundings] == grosses
    assert 0 <= paid.legacy <= legacy
    assert 0 <= paid.wallet <= platform
    assert all(min(f.legacy, f.wallet, f.card) >= 0 for f in fundings)
    # The wallet pays all it can, legacy money first, and holds back only what would leave the
    # card short of the minimum: then the card pays exactly the minimum.
    all_it_can = min(legacy + platform, total)
    if 0 < total - all_it_can < card_minimum:
        assert paid.card == card_minimum
    else:
        assert paid.legacy + paid.wallet == all_it_can
    assert paid.legacy == min(legacy, paid.legacy + paid.wallet)


@given(
    gross=st.integers(min_value=0, max_value=10**8),
    bps=st.integers(min_value=0, max_value=10_000),
    fixed=st.integers(min_value=0, max_value=10**4),
    data=st.data(),
)
def test_fee_and_net_add_up_to_gross_and_the_transfers_to_the_net(
    gross: int, bps: int, fixed: int, data: st.DataObject
) -> None:
    line = OrderLine("p", "t", "s", gross, 1, gross)
    (plan,) = escrow_plans([line], FeeSchedule(bps=bps, fixed=fixed), "usd")
    assert plan.fee + plan.net == gross
    assert 0 <= plan.fee <= gross
    card = data.draw(st.integers(min_value=0, max_value=gross))
    funding = Funding(legacy=0, wallet=gross - card, card=card)
    parts = dict(transfer_parts(plan.net, funding))
    assert sum(parts.values()) == plan.net
    assert parts.get(TransferPart.CARD, 0) <= funding.card
    assert all(amount > 0 for amount in parts.values())
