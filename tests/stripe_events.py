"""Stripe webhook payloads for tests, built from Stripe's own example objects (fixtures3.json).

account = stripe_object("account", id="acct_1", charges_enabled=True)
event = stripe_event("account.updated", account, account="acct_1", created=1_700_000_000)
body, headers = signed_delivery(event, CONNECT_WEBHOOK_SECRET)
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import stripe

# Stripe's example objects, as the emulator ships them (a pinned copy of Stripe's fixtures3.json).
FIXTURE_FILE = Path(__file__).resolve().parents[1] / "stripe_emulator" / "fixtures3.json"

JsonObject = dict[str, Any]


@cache
def _resources() -> dict[str, JsonObject]:
    resources: dict[str, JsonObject] = json.loads(FIXTURE_FILE.read_text())["resources"]
    return resources


def stripe_object(resource: str, **changes: Any) -> JsonObject:
    """A deep copy of Stripe's example `resource` object with `changes` applied at the top level."""
    obj = copy.deepcopy(_resources()[resource])
    obj.update(changes)
    return obj


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def connected_account(account_id: str | None = None, **changes: Any) -> JsonObject:
    """A Stripe `account` object; `changes` override top-level fields (e.g. `charges_enabled`)."""
    return stripe_object("account", id=account_id or new_id("acct"), **changes)


def stripe_event(
    event_type: str,
    data_object: JsonObject,
    *,
    account: str | None = None,
    created: int | None = None,
    event_id: str | None = None,
    livemode: bool = False,
    previous_attributes: JsonObject | None = None,
) -> JsonObject:
    """A Stripe `event` whose `data.object` is `data_object`; `account` makes it a Connect event."""
    data: JsonObject = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event = stripe_object(
        "event",
        id=event_id or new_id("evt"),
        type=event_type,
        created=int(time.time()) if created is None else created,
        livemode=livemode,
        data=data,
        pending_webhooks=1,
        api_version=stripe.api_version,
    )
    if account is not None:
        event["account"] = account
    return event


def account_updated(
    account: JsonObject, *, created: int | None = None, event_id: str | None = None
) -> JsonObject:
    """A Connect `account.updated` event about `account`."""
    return stripe_event("account.updated", account, account=account["id"], created=created, event_id=event_id)


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return header


def signed_delivery(
    event: JsonObject, secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers Stripe would POST for `event`, signed with `secret`."""
    payload = json.dumps(event, indent=2)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(payload, secret, timestamp),
    }
    return payload.encode(), headers
