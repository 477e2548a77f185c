"""Stripe's minimum charge amount per currency, in minor units. Pure.

Stripe refuses a PaymentIntent below it (`amount_too_small`), so the service never asks for one:
checkout splits an order so that the card pays nothing or at least this, and a top-up's lower
limit may not be set below it. The table is Stripe's "Minimum and maximum charge amounts"
(docs.stripe.com/currencies); the minimum applies to the settlement currency, which for the
platform is the currency it charges in. A currency missing from the table is refused as the
platform's currency at start-up, since its minimum ("$0.50 or equivalent") depends on the day's
exchange rate.
"""

from __future__ import annotations

from types import MappingProxyType

MINIMUM_CHARGE = MappingProxyType(
    {
        "usd": 50,
        "aed": 200,
        "aud": 50,
        "bgn": 100,
        "brl": 50,
        "cad": 50,
        "chf": 50,
        "czk": 1500,
        "dkk": 250,
        "eur": 50,
        "gbp": 30,
        "hkd": 400,
        # Two-decimal at Stripe's API although the forint has no coins below one.
        "huf": 17500,
        "inr": 50,
        "jpy": 50,
        "mxn": 1000,
        "myr": 200,
        "nok": 300,
        "nzd": 50,
        "pln": 200,
        "ron": 200,
        "sek": 300,
        "sgd": 50,
        "thb": 1000,
    }
)


def has_minimum_charge(currency: str) -> bool:
    return currency in MINIMUM_CHARGE


def minimum_charge(currency: str) -> int:
    """The smallest amount Stripe charges in `currency`, in its minor units."""
    return MINIMUM_CHARGE[currency]
