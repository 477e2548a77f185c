"""The legacy wallet migration's rules: which legacy wallets can be migrated and exactly how much
they hold (major units in the legacy data, minor units in the ledger), the entry keys, and the
sums and checksums that prove a migration lost or invented nothing.

The legacy data is messy, and each kind of mess is handled on purpose:

- Balances are doubles, integers, decimal strings or Decimal128. The legacy system added doubles
  together, so a value may carry float noise (0.1 + 0.2 = 0.30000000000000004): a whole number
  of cents plus noise far below a cent, accepted as that number of cents and reported as
  normalized. A real fraction of a cent (12.345) is not money we can represent and is refused,
  as are unparseable, non-finite, negative and implausibly large amounts.
- User ids are strings or ObjectIds; an ObjectId names the user whose id is its hex string.
  Anything else (a number, nothing) is refused. Two legacy documents of one user, whatever type
  each id is stored as, are both refused: nobody can tell which is right.
- Currencies come in any case ("USD", "usd") and are lowercased; a missing one, one that is not
  a three-letter code, or one the platform's wallets do not hold is refused.
- A wallet of a user unknown to the marketplace (`users`) is refused.

One function, `validate_legacy_wallet`, says all this, for the lazy path (one user, on first use
of the wallet) and the bulk migration alike. A refusal carries a `RejectionReason`.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, InvalidOperation
from enum import StrEnum
from typing import Any, ClassVar

from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId

from app.domain.money import MAX_AMOUNT, is_currency_code, minor_unit_exponent
from app.errors import ServiceError

# Noise from summing doubles stays many orders of magnitude below a cent; a real sub-cent
# amount (the smallest is a tenth of a cent) is far above this.
FLOAT_NOISE_TOLERANCE = Decimal("0.000001")
# Totals are added in this context, never the default one: its 28 digits would round a total of
# trillions carrying a double's noise, and a rounded total no longer proves a cent is not lost.
# Any addition that would need rounding raises instead.
EXACT = Context(prec=10_000, traps=[Inexact, InvalidOperation])
CHECKSUM_MODULUS = 2**256


class LegacyWalletStatus(StrEnum):
    NONE = "none"
    NOT_MIGRATED = "not_migrated"
    MIGRATED = "migrated"
    # Shown, never stored: the legacy wallet cannot be migrated until an operator fixes it.
    INVALID = "invalid"


class RejectionReason(StrEnum):
    """Why a legacy wallet is not migrated; stable codes, shown to buyers and operators."""

    INVALID_USER_ID = "invalid_user_id"
    DUPLICATE_WALLET = "duplicate_wallet"
    UNKNOWN_USER = "unknown_user"
    MISSING_CURRENCY = "missing_currency"
    UNKNOWN_CURRENCY = "unknown_currency"
    UNSUPPORTED_CURRENCY = "unsupported_currency"
    UNPARSEABLE_AMOUNT = "unparseable_amount"
    NON_FINITE_AMOUNT = "non_finite_amount"
    NEGATIVE_AMOUNT = "negative_amount"
    SUB_CENT_PRECISION = "sub_cent_precision"
    AMOUNT_TOO_LARGE = "amount_too_large"


class InvalidLegacyBalance(ServiceError):
    code = "invalid_legacy_balance"
    status = 422
    title = "The legacy wallet cannot be migrated"
    members: ClassVar[Mapping[str, Any]] = {"reason": str}

    def __init__(self, detail: str, reason: RejectionReason) -> None:
        super().__init__(detail, reason=reason.value)
        self.reason = reason


# Entry keys. A user migrated, rolled back and migrated again is in their second generation;
# the first keeps the keys it always had.


def migration_entry_key(user_id: str, generation: int = 0) -> str:
    return f"migration:{user_id}" if generation == 0 else f"migration:{user_id}:g{generation}"


def late_migration_entry_key(user_id: str, number: int, generation: int = 0) -> str:
    """The `number`-th amount the legacy system credited to a wallet after it was migrated."""
    return f"{migration_entry_key(user_id, generation)}:late:{number}"


def rollback_entry_key(user_id: str, generation: int = 0) -> str:
    """The entry reversing generation `generation` of a user's migration."""
    return f"{migration_entry_key(user_id, generation)}:rollback"


@dataclass(frozen=True, slots=True)
class LegacyAmount:
    minor_units: int
    normalized: bool


def legacy_user_id(raw: Any) -> str | None:
    """The user a legacy document names: a string as it is, an ObjectId as its hex; else None."""
    if isinstance(raw, ObjectId):
        return str(raw)
    if isinstance(raw, str) and raw:
        return raw
    return None


def user_id_forms(user_id: str) -> list[Any]:
    """Every way the legacy data may store `user_id`: as text, and as an ObjectId if it is one."""
    return [user_id, ObjectId(user_id)] if ObjectId.is_valid(user_id) else [user_id]


def currency_key(raw: Any) -> str:
    """The currency a legacy document names, for totals: lowercased, `(missing)` if none."""
    if raw is None or raw == "":
        return "(missing)"
    return str(raw).strip().lower()


def legacy_currency(raw: Any, platform_currency: str) -> str:
    """The document's currency as the ledger names it, if the platform's wallets hold it."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidLegacyBalance("the legacy wallet has no currency", RejectionReason.MISSING_CURRENCY)
    currency = currency_key(raw)
    if not isinstance(raw, str) or not is_currency_code(currency):
        raise InvalidLegacyBalance(
            f"the legacy currency {raw!r} is not a currency code", RejectionReason.UNKNOWN_CURRENCY
        )
    if currency != platform_currency:
        raise InvalidLegacyBalance(
            f"the legacy wallet holds {currency}; wallets hold {platform_currency}",
            RejectionReason.UNSUPPORTED_CURRENCY,
        )
    return currency


def legacy_decimal(value: Any) -> Decimal:
    """The legacy balance as the exact decimal the legacy system meant (major units)."""
    if value is None:
        raise InvalidLegacyBalance("the legacy balance is missing", RejectionReason.UNPARSEABLE_AMOUNT)
    if isinstance(value, bool):
        raise InvalidLegacyBalance(
            f"the legacy balance {value!r} is not a number", RejectionReason.UNPARSEABLE_AMOUNT
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidLegacyBalance(
                f"the legacy balance {value!r} is not a finite number", RejectionReason.NON_FINITE_AMOUNT
            )
        return Decimal(repr(value))  # the shortest repr is the decimal the legacy system meant
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, int | Decimal):
        decimal = Decimal(value)
    elif isinstance(value, str):
        try:
            decimal = Decimal(value.strip())
        except InvalidOperation as exc:
            raise InvalidLegacyBalance(
                f"the legacy balance {value!r} is not a number", RejectionReason.UNPARSEABLE_AMOUNT
            ) from exc
    else:
        raise InvalidLegacyBalance(
            f"the legacy balance has an unsupported type {type(value).__name__}",
            RejectionReason.UNPARSEABLE_AMOUNT,
        )
    if not decimal.is_finite():
        raise InvalidLegacyBalance(
            f"the legacy balance {value!r} is not a finite number", RejectionReason.NON_FINITE_AMOUNT
        )
    return decimal


def to_minor_units(value: Any, currency: str) -> LegacyAmount:
    """The legacy balance `value` (major units) as an exact integer of minor units."""
    scaled = legacy_decimal(value).scaleb(minor_unit_exponent(currency))
    whole = scaled.to_integral_value()
    if scaled != whole and abs(scaled - whole) > FLOAT_NOISE_TOLERANCE:
        raise InvalidLegacyBalance(
            f"the legacy balance {value!r} has a fraction of the smallest unit",
            RejectionReason.SUB_CENT_PRECISION,
        )
    if whole < 0:
        raise InvalidLegacyBalance(
            f"the legacy balance {value!r} is negative", RejectionReason.NEGATIVE_AMOUNT
        )
    if whole > MAX_AMOUNT * 100:
        raise InvalidLegacyBalance(
            f"the legacy balance {value!r} is implausibly large", RejectionReason.AMOUNT_TOO_LARGE
        )
    return LegacyAmount(minor_units=int(whole), normalized=scaled != whole)


@dataclass(frozen=True, slots=True)
class WalletFacts:
    """What the validation needs to know of one legacy document."""

    raw_user_id: Any
    balance: Any
    currency: Any
    # How many legacy documents name the same user (this one included).
    copies: int = 1
    user_known: bool = True


@dataclass(frozen=True, slots=True)
class ValidWallet:
    user_id: str
    currency: str
    amount: LegacyAmount


def validate_legacy_wallet(facts: WalletFacts, platform_currency: str) -> ValidWallet:
    """The wallet as it will be migrated; raises InvalidLegacyBalance with the first problem."""
    user_id = legacy_user_id(facts.raw_user_id)
    if user_id is None:
        raise InvalidLegacyBalance(
            f"the legacy user id {facts.raw_user_id!r} is neither a string nor an ObjectId",
            RejectionReason.INVALID_USER_ID,
        )
    if facts.copies > 1:
        raise InvalidLegacyBalance(
            f"{facts.copies} legacy wallets belong to {user_id}", RejectionReason.DUPLICATE_WALLET
        )
    if not facts.user_known:
        raise InvalidLegacyBalance(f"{user_id} is not a marketplace user", RejectionReason.UNKNOWN_USER)
    currency = legacy_currency(facts.currency, platform_currency)
    return ValidWallet(user_id, currency, to_minor_units(facts.balance, currency))


# Proving nothing was lost: totals and checksums of the legacy data.


def typed_text(value: Any) -> str:
    """A value with its BSON type, as text: a double and a string of the same digits differ."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool:{value}"
    if isinstance(value, float):
        return f"double:{value!r}"
    if isinstance(value, Int64):
        return f"long:{int(value)}"
    if isinstance(value, int):
        return f"int:{value}"
    if isinstance(value, Decimal128):
        return f"decimal:{value}"
    if isinstance(value, str):
        return f"string:{value}"
    if isinstance(value, ObjectId):
        return f"objectId:{value}"
    return f"{type(value).__name__}:{value!r}"


class Checksum:
    """An order-independent checksum of (user, amount) pairs: the sum of their SHA-256 digests
    modulo 2**256, so a stream in any order, or split over batches, gives the same value."""

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def add(self, raw_user_id: Any, balance: Any) -> None:
        pair = f"{typed_text(raw_user_id)}|{typed_text(balance)}".encode()
        digest = int.from_bytes(hashlib.sha256(pair).digest(), "big")
        self.value = (self.value + digest) % CHECKSUM_MODULUS

    def hex(self) -> str:
        return f"{self.value:064x}"


def exact_sum(*amounts: Decimal) -> Decimal:
    """The sum of `amounts`, exactly (see EXACT)."""
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, amount)
    return total


def exact_amount(balance: Any) -> Decimal | None:
    """The balance as a decimal for totals, or None if it is not a finite number."""
    try:
        return legacy_decimal(balance)
    except InvalidLegacyBalance:
        return None


@dataclass
class Snapshot:
    """The legacy data before a run: how many wallets, how much per currency, and a checksum."""

    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    unparseable: int = 0
    checksum: Checksum = field(default_factory=Checksum)

    def add(self, raw_user_id: Any, balance: Any, currency: Any) -> None:
        self.count += 1
        self.checksum.add(raw_user_id, balance)
        amount = exact_amount(balance)
        if amount is None:
            self.unparseable += 1
            return
        key = currency_key(currency)
        self.totals[key] = exact_sum(self.totals.get(key, Decimal(0)), amount)

    def as_document(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "totals": {currency: str(total) for currency, total in sorted(self.totals.items())},
            "unparseable": self.unparseable,
            "checksum": self.checksum.hex(),
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Snapshot:
        return cls(
            count=document["count"],
            totals={currency: Decimal(total) for currency, total in document["totals"].items()},
            unparseable=document["unparseable"],
            checksum=Checksum(int(document["checksum"], 16)),
        )


class Outcome(StrEnum):
    """What a run did with one legacy wallet."""

    MIGRATED = "migrated"
    # Migrated before (one by one, or by an earlier run), and credited by the legacy system since.
    LATE_MIGRATED = "late_migrated"
    ALREADY_MIGRATED = "already_migrated"
    REJECTED = "rejected"


@dataclass
class Tally:
    """What a run did, summed: counts, and per currency the exact legacy amounts by outcome,
    and the minor units it posted. `reconciliation` proves the sums meet."""

    counts: Counter[str] = field(default_factory=Counter)
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    posted: Counter[str] = field(default_factory=Counter)

    def add(
        self,
        outcome: Outcome,
        balance: Any,
        currency: Any,
        *,
        posted: int = 0,
        reason: RejectionReason | None = None,
        normalized: bool = False,
    ) -> None:
        self.counts[outcome.value] += 1
        if reason is not None:
            self.counts[f"rejected:{reason.value}"] += 1
        if normalized:
            self.counts["normalized"] += 1
        amount = exact_amount(balance)
        if amount is None:
            self.counts["unparseable"] += 1
        else:
            by_outcome = self.totals.setdefault(currency_key(currency), {})
            by_outcome[outcome.value] = exact_sum(by_outcome.get(outcome.value, Decimal(0)), amount)
        if posted:
            self.posted[currency_key(currency)] += posted

    def merge(self, other: Tally) -> None:
        self.counts.update(other.counts)
        self.posted.update(other.posted)
        for currency, by_outcome in other.totals.items():
            mine = self.totals.setdefault(currency, {})
            for outcome, amount in by_outcome.items():
                mine[outcome] = exact_sum(mine.get(outcome, Decimal(0)), amount)

    def total(self, currency: str, *outcomes: Outcome) -> Decimal:
        by_outcome = self.totals.get(currency, {})
        return exact_sum(*(by_outcome.get(outcome.value, Decimal(0)) for outcome in outcomes))

    def as_document(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "totals": {
                currency: {outcome: str(amount) for outcome, amount in sorted(by_outcome.items())}
                for currency, by_outcome in sorted(self.totals.items())
            },
            "posted": dict(sorted(self.posted.items())),
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Tally:
        return cls(
            counts=Counter(document["counts"]),
            totals={
                currency: {outcome: Decimal(amount) for outcome, amount in by_outcome.items()}
                for currency, by_outcome in document["totals"].items()
            },
            posted=Counter(document["posted"]),
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run is through the wallets it found: each wallet ends migrated (late credits
    included), already migrated or rejected; the rest are still to come."""

    wallets: int
    migrated: int
    already_migrated: int
    rejected: int

    @property
    def remaining(self) -> int:
        return max(self.wallets - self.migrated - self.already_migrated - self.rejected, 0)


def progress_of(wallets: int, counts: Mapping[str, int]) -> Progress:
    """A run's progress from its counts by outcome (`Tally.counts`, or those so far)."""
    return Progress(
        wallets=wallets,
        migrated=counts.get(Outcome.MIGRATED.value, 0) + counts.get(Outcome.LATE_MIGRATED.value, 0),
        already_migrated=counts.get(Outcome.ALREADY_MIGRATED.value, 0),
        rejected=counts.get(Outcome.REJECTED.value, 0),
    )


@dataclass(frozen=True, slots=True)
class CurrencyReconciliation:
    currency: str
    legacy: Decimal
    migrated: Decimal
    rejected: Decimal
    already_migrated: Decimal

    @property
    def holds(self) -> bool:
        return self.legacy == exact_sum(self.migrated, self.rejected, self.already_migrated)


def reconcile(snapshot: Snapshot, tally: Tally) -> list[CurrencyReconciliation]:
    """Per currency: the legacy total before the run against what the run migrated, rejected and
    found already migrated. Exact decimals, so a lost or invented cent shows."""
    currencies = sorted(set(snapshot.totals) | set(tally.totals))
    return [
        CurrencyReconciliation(
            currency=currency,
            legacy=snapshot.totals.get(currency, Decimal(0)),
            migrated=tally.total(currency, Outcome.MIGRATED, Outcome.LATE_MIGRATED),
            rejected=tally.total(currency, Outcome.REJECTED),
            already_migrated=tally.total(currency, Outcome.ALREADY_MIGRATED),
        )
        for currency in currencies
    ]
