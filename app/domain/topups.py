"""The top-up state machine and its rules. Pure."""

from __future__ import annotations

import hashlib
from enum import StrEnum

TOPUP_PURPOSE = "wallet_topup"


class TopupStatus(StrEnum):
    REQUIRES_PAYMENT = "requires_payment"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


# A failed attempt leaves the PaymentIntent open for another card, so money may still arrive
# after `failed`; only a canceled intent can never succeed.
TRANSITIONS: dict[TopupStatus, frozenset[TopupStatus]] = {
    TopupStatus.REQUIRES_PAYMENT: frozenset(
        {TopupStatus.SUCCEEDED, TopupStatus.FAILED, TopupStatus.CANCELED}
    ),
    TopupStatus.FAILED: frozenset({TopupStatus.SUCCEEDED, TopupStatus.CANCELED}),
    TopupStatus.SUCCEEDED: frozenset(),
    TopupStatus.CANCELED: frozenset(),
}


def sources_of(target: TopupStatus) -> list[str]:
    """The statuses a top-up may move to `target` from, for a compare-and-set update."""
    return [str(source) for source, targets in TRANSITIONS.items() if target in targets]


def topup_id_for(user_id: str, idempotency_key: str) -> str:
    """The same request (user and Idempotency-Key) always names the same top-up, even after a crash."""
    digest = hashlib.sha256(f"{user_id}\x1f{idempotency_key}".encode()).hexdigest()
    return f"tu_{digest[:24]}"


def topup_entry_key(payment_intent_id: str) -> str:
    return f"topup:{payment_intent_id}"
