"""Feature flags: which users get the new flows during the rollout.

Each flag has a rule: a kill switch (`enabled`), a share of users (`rollout_percent`), and
lists of users who always get it (`allow_users`) or never do (`deny_users`). The kill switch
beats everything, a denial beats an allowance, an allowance beats the percentage.

A user's place in a rollout is a bucket from 0 to 9,999: the first eight bytes of
SHA-256(`{flag}:{user}`) modulo 10,000. It is the same in every process and every release, so
a user keeps the flow they got while the percentage only grows; and it differs per flag, so the
first 1 % of one flag is not the first 1 % of every flag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from app.errors import ServiceError

BUCKETS = 10_000
# With user ids of up to 255 characters, both lists at their longest still fit a request body
# (MAX_REQUEST_BODY_BYTES, 64 KiB): a rule the schema accepts is never refused for its size.
MAX_LISTED_USERS = 100


class Flag(StrEnum):
    # Top-ups and the combined legacy + platform wallet.
    WALLET_V2 = "wallet_v2"
    # Checkout through Stripe into platform-held escrow.
    CHECKOUT_V2 = "checkout_v2"
    # Sellers' payout requests.
    SELLER_PAYOUTS = "seller_payouts"
    # A user's legacy wallet is migrated at their first use of the new wallet.
    LEGACY_MIGRATION = "legacy_migration"


class Decision(StrEnum):
    """Why a user gets a flag or not."""

    KILL_SWITCH = "kill_switch"
    DENIED = "denied"
    ALLOWED = "allowed"
    IN_ROLLOUT = "in_rollout"
    OUT_OF_ROLLOUT = "out_of_rollout"


class FeatureDisabled(ServiceError):
    code = "feature_disabled"
    status = 403
    title = "This feature is not enabled for you yet"
    members: ClassVar[Mapping[str, Any]] = {"feature": str}


@dataclass(frozen=True, slots=True)
class FlagRule:
    enabled: bool
    rollout_percent: int
    allow_users: frozenset[str] = frozenset()
    deny_users: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if type(self.rollout_percent) is not int or not 0 <= self.rollout_percent <= 100:
            raise ValueError("rollout_percent is an integer from 0 to 100")
        if max(len(self.allow_users), len(self.deny_users)) > MAX_LISTED_USERS:
            raise ValueError(f"a flag lists at most {MAX_LISTED_USERS} users each way")


@dataclass(frozen=True, slots=True)
class Evaluation:
    flag: Flag
    user_id: str
    on: bool
    decision: Decision
    bucket: int


def bucket(flag: Flag, user_id: str) -> int:
    digest = hashlib.sha256(f"{flag.value}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def evaluate(flag: Flag, rule: FlagRule, user_id: str) -> Evaluation:
    place = bucket(flag, user_id)
    if not rule.enabled:
        return Evaluation(flag, user_id, False, Decision.KILL_SWITCH, place)
    if user_id in rule.deny_users:
        return Evaluation(flag, user_id, False, Decision.DENIED, place)
    if user_id in rule.allow_users:
        return Evaluation(flag, user_id, True, Decision.ALLOWED, place)
    if place < rule.rollout_percent * (BUCKETS // 100):
        return Evaluation(flag, user_id, True, Decision.IN_ROLLOUT, place)
    return Evaluation(flag, user_id, False, Decision.OUT_OF_ROLLOUT, place)
