"""Realistic synthetic legacy wallets, for rehearsals, tests and benchmarks.

As messy as the real data: balances as doubles (some the sum of several, with float noise),
32- and 64-bit integers, decimal strings (some with spaces) and Decimal128; user ids as strings or ObjectIds;
currencies in any case. A share of the wallets is bad, each kind of bad in turn, and each
carries the reason the migration must give:

| kind | what | reason |
| --- | --- | --- |
| unparseable | `"12,50"`, `"abc"`, `[1]` | `unparseable_amount` |
| non-finite | NaN, infinity, `"Infinity"` | `non_finite_amount` |
| negative | `-5.25` | `negative_amount` |
| sub-cent | `12.345`, `"0.005"` | `sub_cent_precision` |
| too large | `1e12` | `amount_too_large` |
| no currency | field absent, or `""` | `missing_currency` |
| not a currency | `"dollars"`, `840` | `unknown_currency` |
| another currency | `"EUR"` | `unsupported_currency` |
| duplicate | two wallets of one user, one id a string and one an ObjectId | `duplicate_wallet` (both) |
| orphan | its user is not in `users` | `unknown_user` |
| no user id | `userId` absent, or a number | `invalid_user_id` |

The same seed gives the same wallets. Every good wallet's user is written to `users`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId

from app.domain.migration import RejectionReason

BAD_KINDS: tuple[RejectionReason, ...] = tuple(RejectionReason)
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FixtureWallet:
    """One user's legacy documents (two for a duplicate), their marketplace user if any, and
    what the migration must make of them: a reason, or the minor units it migrates."""

    documents: tuple[dict[str, Any], ...]
    user: dict[str, Any] | None
    user_id: str | None
    reason: RejectionReason | None
    minor_units: int = 0
    normalized: bool = False


@dataclass
class FixtureSummary:
    wallets: int = 0
    documents: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    migrated: int = 0
    migrated_minor_units: int = 0
    normalized: int = 0

    def add(self, wallet: FixtureWallet) -> None:
        self.wallets += 1
        self.documents += len(wallet.documents)
        if wallet.reason is not None:
            self.rejected[wallet.reason.value] += len(wallet.documents)
            return
        self.migrated += 1
        self.migrated_minor_units += wallet.minor_units
        self.normalized += int(wallet.normalized)


def legacy_wallets(count: int, *, bad_share: float = 0.05, seed: int = 1) -> Iterator[FixtureWallet]:
    """`count` users' legacy wallets; about `bad_share` of them bad, the kinds in turn."""
    if not 0 <= bad_share <= 1:
        raise ValueError("the share of bad wallets is from 0 to 1")
    rng = random.Random(seed)  # noqa: S311 - repeatable synthetic data, not a secret
    bad_every = round(1 / bad_share) if bad_share else 0
    for index in range(count):
        if bad_every and index % bad_every == bad_every - 1:
            yield _bad(rng, index, BAD_KINDS[(index // bad_every) % len(BAD_KINDS)])
        else:
            yield _good(rng, index)


def _user_id(rng: random.Random, index: int) -> Any:
    """A third of the legacy ids are ObjectIds, the rest strings."""
    if index % 3 == 0:
        return ObjectId(rng.randbytes(12))
    return f"user_{index:07d}"


def _document(rng: random.Random, user_id: Any, balance: Any, currency: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"userId": user_id, "balance": balance}
    if currency is not _ABSENT:
        document["currency"] = currency
    # Milliseconds only, as MongoDB keeps them: a document read back is the document written.
    document["updatedAt"] = EPOCH + timedelta(milliseconds=rng.randrange(5 * 365 * 86_400_000))
    return document


_ABSENT = object()


def _good(rng: random.Random, index: int) -> FixtureWallet:
    raw_user = _user_id(rng, index)
    user_id = str(raw_user)
    cents, balance, normalized = _good_balance(rng)
    currency = rng.choice(["USD", "usd", "Usd", "USD", "usd"])
    return FixtureWallet(
        documents=(_document(rng, raw_user, balance, currency),),
        user={"_id": user_id, "roles": ["buyer"]},
        user_id=user_id,
        reason=None,
        minor_units=cents,
        normalized=normalized,
    )


def _good_balance(rng: random.Random) -> tuple[int, Any, bool]:
    """A balance in one of the legacy system's forms, and its exact cents."""
    form = rng.randrange(7)
    if form == 0:
        return 0, rng.choice([0, 0.0, "0.00", Decimal128("0")]), False
    if form == 1:  # several doubles added together, as the legacy system did
        parts = [rng.randrange(1, 5000) for _ in range(rng.randrange(2, 6))]
        total = 0.0
        for part in parts:
            total += part / 100
        cents = sum(parts)
        return cents, total, Decimal(repr(total)) * 100 != cents
    cents = rng.randrange(1, 2_000_000)
    if form == 2:
        return cents, cents / 100, False
    if form == 3:  # whole units, as a 32- or a 64-bit integer
        units = cents // 100
        return units * 100, rng.choice([units, Int64(units)]), False
    if form == 4:
        return cents, f"{Decimal(cents) / 100:.2f}", False
    if form == 5:
        return cents, f" {Decimal(cents) / 100:.2f} ", False
    return cents, Decimal128(f"{Decimal(cents) / 100:.2f}"), False


def _bad(rng: random.Random, index: int, reason: RejectionReason) -> FixtureWallet:
    raw_user = _user_id(rng, index)
    user_id: str | None = str(raw_user)
    balance: Any = (rng.randrange(1, 100_000)) / 100
    currency: Any = "USD"
    documents: tuple[dict[str, Any], ...]
    user: dict[str, Any] | None = {"_id": user_id, "roles": ["buyer"]}
    match reason:
        case RejectionReason.UNPARSEABLE_AMOUNT:
            balance = rng.choice(["12,50", "abc", [1], None])
        case RejectionReason.NON_FINITE_AMOUNT:
            balance = rng.choice([float("nan"), float("inf"), "Infinity", "-inf"])
        case RejectionReason.NEGATIVE_AMOUNT:
            balance = -balance
        case RejectionReason.SUB_CENT_PRECISION:
            balance = rng.choice([12.345, "0.005", Decimal128("7.001")])
        case RejectionReason.AMOUNT_TOO_LARGE:
            balance = 1e12
        case RejectionReason.MISSING_CURRENCY:
            currency = rng.choice([_ABSENT, "", None])
        case RejectionReason.UNKNOWN_CURRENCY:
            currency = rng.choice(["dollars", 840, "US$"])
        case RejectionReason.UNSUPPORTED_CURRENCY:
            currency = rng.choice(["EUR", "gbp"])
        case RejectionReason.UNKNOWN_USER:
            user = None
        case RejectionReason.INVALID_USER_ID:
            raw_user, user_id, user = rng.choice([index, None]), None, None
    documents = (_document(rng, raw_user, balance, currency),)
    if reason is RejectionReason.DUPLICATE_WALLET:
        hex_id = rng.randbytes(12).hex()
        raw_user, user_id = ObjectId(hex_id), hex_id
        user = {"_id": user_id, "roles": ["buyer"]}
        documents = (_document(rng, hex_id, balance, "USD"), _document(rng, raw_user, balance / 2, "usd"))
    return FixtureWallet(documents=documents, user=user, user_id=user_id, reason=reason)
