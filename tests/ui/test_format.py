"""Amounts and dates as the pages show them (js/format.js), run in the browser."""

from __future__ import annotations

import random
from typing import Any

import pytest
from playwright.async_api import Page

from app.domain.money import ZERO_DECIMAL_CURRENCIES, minor_unit_exponent

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"


@pytest.fixture
async def format_page(page: Page) -> Page:
    await page.goto("/ui/")
    return page


async def call(page: Page, function: str, *arguments: Any) -> Any:
    return await page.evaluate(
        "async ([name, args]) => (await import('/ui/js/format.js'))[name](...args)",
        [function, list(arguments)],
    )


async def test_the_pages_count_minor_units_as_the_service_does(format_page: Page) -> None:
    currencies = sorted(ZERO_DECIMAL_CURRENCIES | {"usd", "eur", "gbp", "huf", "isk", "bhd", "chf"})
    exponents = {currency: await call(format_page, "minorUnitExponent", currency) for currency in currencies}
    assert exponents == {currency: minor_unit_exponent(currency) for currency in currencies}


# (amount in minor units, currency, locale) → what the viewer reads
AMOUNTS_SHOWN = {
    (123456, "usd", "en-US"): "$1,234.56",
    (5, "usd", "en-US"): "$0.05",
    (-250, "usd", "en-US"): "-$2.50",
    (0, "usd", "en-US"): "$0.00",
    (500, "jpy", "en-US"): "¥500",
    (1234567, "jpy", "ja-JP"): "￥1,234,567",
    (123456, "eur", "de-DE"): f"1.234,56{NBSP}€",
    (99_999_999, "gbp", "en-GB"): "£999,999.99",
}


async def test_an_amount_is_shown_in_its_currency_and_the_viewers_locale(format_page: Page) -> None:
    shown = {case: await call(format_page, "formatMoney", *case) for case in AMOUNTS_SHOWN}
    assert shown == AMOUNTS_SHOWN


async def test_every_digit_of_an_amount_is_shown_exactly(format_page: Page) -> None:
    # Up to 2^53 - 1, the largest integer JSON hands JavaScript exactly: no float rounding anywhere.
    draw = random.Random(19)
    amounts = [
        0,
        1,
        9,
        10,
        99,
        100,
        101,
        2**53 - 1,
        *(draw.randrange(-(2**53) + 1, 2**53) for _ in range(300)),
    ]
    for currency in ("usd", "jpy"):
        shown: list[str] = await format_page.evaluate(
            """async ([amounts, currency]) => {
                const { formatMoney } = await import('/ui/js/format.js');
                return amounts.map((amount) => formatMoney(amount, currency, 'en-US'));
            }""",
            [amounts, currency],
        )
        for amount, text in zip(amounts, shown, strict=True):
            digits = "".join(character for character in text if character.isdigit())
            assert int(digits) == abs(amount), (amount, text)
            assert text.startswith("-") == (amount < 0), (amount, text)
            assert ("." in text) == (minor_unit_exponent(currency) == 2), (amount, text)


# (decimal text in major units, currency, locale) → what the viewer reads: every digit kept
DECIMALS_SHOWN = {
    ("1234.5", "usd", "en-US"): "$1,234.50",
    ("0.125", "usd", "en-US"): "$0.125",
    ("-12", "usd", "en-US"): "-$12.00",
    ("9007199254740993.01", "usd", "en-US"): "$9,007,199,254,740,993.01",
    ("500", "jpy", "en-US"): "¥500",
    ("1234.56", "eur", "de-DE"): f"1.234,56{NBSP}€",
    ("12.5", "not a currency", "en-US"): "12.5 not a currency",
    ("12,5", "usd", "en-US"): "12,5 usd",
}


async def test_a_decimal_amount_keeps_every_digit_it_has(format_page: Page) -> None:
    shown = {case: await call(format_page, "formatDecimalMoney", *case) for case in DECIMALS_SHOWN}
    assert shown == DECIMALS_SHOWN


async def test_a_time_is_shown_in_the_viewers_locale_and_time_zone(format_page: Page) -> None:
    shown = {
        locale: await call(format_page, "formatDate", "2026-11-03T14:05:09Z", locale)
        for locale in ("en-GB", "en-US", "de-DE")
    }
    # The browser context runs in UTC. ICU versions differ in which space they put before "PM".
    assert {locale: " ".join(text.replace(NARROW_NBSP, " ").split()) for locale, text in shown.items()} == {
        "en-GB": "3 Nov 2026, 14:05:09",
        "en-US": "Nov 3, 2026, 2:05:09 PM",
        "de-DE": "03.11.2026, 14:05:09",
    }


# (typed, currency) → minor units, or None when it is no amount of that currency
AMOUNTS_TYPED = {
    ("16.20", "usd"): 1620,
    ("16.2", "usd"): 1620,
    ("16", "usd"): 1600,
    ("1,234.56", "usd"): 123456,
    (" 0.05 ", "usd"): 5,
    ("90071992547409.91", "usd"): 2**53 - 1,
    ("90071992547409.92", "usd"): None,  # past what a double holds exactly
    ("0.125", "usd"): None,
    ("500", "jpy"): 500,
    ("500.5", "jpy"): None,
    ("-5", "usd"): None,
    ("1e3", "usd"): None,
    ("ten", "usd"): None,
    ("", "usd"): None,
}


async def test_a_typed_amount_is_read_digit_by_digit_into_minor_units(format_page: Page) -> None:
    read = {case: await call(format_page, "parseMoney", *case) for case in AMOUNTS_TYPED}
    assert read == AMOUNTS_TYPED


async def test_a_typed_amount_reads_back_as_it_is_shown(format_page: Page) -> None:
    generator = random.Random(19)
    for amount in [generator.randrange(0, 10**12) for _ in range(50)]:
        shown = await call(format_page, "formatMoney", amount, "usd", "en-US")
        assert await call(format_page, "parseMoney", shown.removeprefix("$"), "usd") == amount, shown
