"""The machinery of the audit walk: a marketplace whose change a scenario marks, the records it
expects, and the checks of what the change wrote and recorded.

A scenario sets its world up (sellers, orders, Stripe's events), then makes one change inside
`world.change()`, and answers the audit records that change must leave, each once, with its
action, subject and actor. Around the change the trail (`write_trail.py`) follows every write:
each write of a state-changing writer must have committed with an audit record in its
transaction, and every writer the row says it walks must have been called.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from app.db import Collections, Document
from app.domain.audit import ActorKind
from tests.checkout_support import Marketplace
from tests.services.audit.inventory import STORED_FROM_STRIPE, state_changes
from tests.services.audit.write_trail import TRAILS, Trail
from tests.services.audit.writers import writers

WRITERS = frozenset(writers())
STATE_CHANGES = frozenset(state_changes(set(WRITERS)))


@dataclass(frozen=True, slots=True)
class By:
    """Who must have made a change: a person or job by id, or a Stripe event of one of
    `event_types` (when either of two events may come first and make it)."""

    kind: ActorKind
    id: str | None = None
    event_types: tuple[str, ...] = ()


def user(user_id: str) -> By:
    return By(ActorKind.USER, user_id)


def admin(admin_id: str) -> By:
    return By(ActorKind.ADMIN, admin_id)


def job(name: str) -> By:
    return By(ActorKind.JOB, name)


def system(component: str) -> By:
    return By(ActorKind.SYSTEM, component)


def webhook(*event_types: str) -> By:
    return By(ActorKind.WEBHOOK, event_types=event_types)


@dataclass(frozen=True, slots=True)
class Expected:
    """A record the change must leave `times` times (once unless it moves an object twice)."""

    action: str
    object_type: str
    object_id: str
    by: By
    times: int = 1


@dataclass
class World:
    market: Marketplace
    trail: Trail | None = None
    before: set[str] = field(default_factory=set)

    @asynccontextmanager
    async def change(self) -> AsyncIterator[None]:
        assert self.trail is None, "a scenario makes one change"
        self.before = {record["_id"] for record in await audit_records(self.market)}
        with TRAILS.following(self.market.services.settings.mongodb_database, WRITERS) as trail:
            self.trail = trail
            yield


Scenario = Callable[[World], Awaitable[list[Expected]]]


@dataclass(frozen=True, slots=True)
class Row:
    """One walk: its scenario, and the writers (`Class.method`, as `writers()` names them after
    the module) it must reach."""

    scenario: Scenario
    walks: frozenset[str]

    @property
    def name(self) -> str:
        return self.scenario.__name__

    def writers(self) -> set[str]:
        return {full_name(short) for short in self.walks}


def row(scenario: Scenario, *walks: str) -> Row:
    return Row(scenario, frozenset(walks))


def full_name(short: str) -> str:
    """The writer whose name ends with `:short`; exactly one must."""
    found = [name for name in WRITERS if name.endswith(f":{short}")]
    assert len(found) == 1, f"{short} names {found or 'no writer'}"
    return found[0]


async def audit_records(market: Marketplace) -> list[Document]:
    database = market.database
    waiting = await database[Collections.AUDIT_PENDING].find({}).to_list()
    return waiting + await database[Collections.AUDIT_LOG].find({}).to_list()


async def check_records(world: World, expected: list[Expected]) -> None:
    """Each expected record exactly once among those the change left."""
    records = [r for r in await audit_records(world.market) if r["_id"] not in world.before]
    events = world.market.database[Collections.WEBHOOK_EVENTS]
    for wanted in expected:
        matching = [
            record
            for record in records
            if (record["action"], record["object"]) == (wanted.action, _object(wanted))
            and await _made_by(record["actor"], wanted.by, events)
        ]
        assert len(matching) == wanted.times, (
            f"{wanted} left {len(matching)} records; the change left: "
            + "; ".join(f"{r['action']} {r['object']} by {r['actor']}" for r in records)
        )


def _object(wanted: Expected) -> dict[str, str]:
    return {"type": wanted.object_type, "id": wanted.object_id}


async def _made_by(actor: dict[str, str], by: By, events: object) -> bool:
    if actor["kind"] != by.kind.value:
        return False
    if by.id is not None:
        return actor["id"] == by.id
    event = await events.find_one({"_id": actor["id"]})  # type: ignore[attr-defined]
    return event is not None and event["type"] in by.event_types


def check_trail(trail: Trail, walks: set[str]) -> None:
    # A write that changed nothing (a compare-and-set that did not match), or whose transaction
    # did not commit (a retried conflict, a duplicate refused), is no change: only the others
    # must carry their record.
    unaudited = [
        f"{write.writer} sent {write.command} to {'+'.join(write.collections)} "
        + (
            "outside a transaction"
            if write.transaction is None
            else "in a transaction without an audit record"
        )
        for write in trail.writes
        if write.writer in STATE_CHANGES
        and write.changed
        and (write.transaction is None or write.transaction in trail.committed)
        and not trail.is_audited(write)
    ]
    assert not unaudited, "state changes left no audit record:\n  " + "\n  ".join(unaudited)
    assert not walks - trail.called, f"the change never reached {sorted(walks - trail.called)}"
    for stored in walks & STORED_FROM_STRIPE.keys():
        assert any(trail.is_audited(write) for write in trail.writes_of(stored)), (
            f"{stored} stored no change with its audit record"
        )
