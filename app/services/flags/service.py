"""Feature flags as the services read them: each flag's rule (stored by an admin, or the default
from the settings), evaluated per user, cached in the process.

The rules of every flag are read together, one query, and kept for `cache_seconds`: a request
checking several flags pays at most one round trip, and most pay none. A change made here is
seen here at once; other processes see it within `cache_seconds`.

`require(flag, user)` is the check the flows behind a flag call (`FeatureDisabled`, 403), or use
through the routers' `require_feature` dependency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.db import Database
from app.domain.audit import Actor, AuditObject, utc_millis
from app.domain.flags import Evaluation, FeatureDisabled, Flag, FlagRule, evaluate
from app.services.audit import AuditLog
from app.services.flags.repository import FlagChanged, FlagRepository, StoredFlag

log = structlog.get_logger(__name__)

SAVE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class FlagState:
    """A flag's rule as it applies now: stored by an admin, or the default (`updated_by` None)."""

    flag: Flag
    rule: FlagRule
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def source(self) -> str:
        return "default" if self.updated_by is None else "stored"


class FeatureFlags:
    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        defaults: Mapping[Flag, FlagRule],
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._audit = audit
        self._flags = FlagRepository(database)
        self._defaults = dict(defaults)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, dict[Flag, FlagState]] | None = None
        self._loading = asyncio.Lock()

    async def states(self) -> dict[Flag, FlagState]:
        """Every flag's rule, from the process's cache when it is fresh enough."""
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self._cache_seconds:
            return cached[1]
        async with self._loading:
            if self._cached is not None and self._cached is not cached:
                return self._cached[1]  # loaded by another request while this one waited
            loaded_at = self._clock()
            stored = await self._flags.all()
            states = {flag: _state(flag, stored.get(flag), self._defaults[flag]) for flag in Flag}
            self._cached = (loaded_at, states)
            return states

    async def evaluate(self, flag: Flag, user_id: str) -> Evaluation:
        return evaluate(flag, (await self.states())[flag].rule, user_id)

    async def is_on(self, flag: Flag, user_id: str) -> bool:
        return (await self.evaluate(flag, user_id)).on

    async def require(self, flag: Flag, user_id: str) -> None:
        """Refuse (403 `feature_disabled`) a user the flag is off for."""
        if not await self.is_on(flag, user_id):
            raise FeatureDisabled(f"{flag} is not enabled for this account yet", feature=flag.value)

    async def set(self, flag: Flag, rule: FlagRule, actor: Actor) -> FlagState:
        """Store a flag's rule, audited in the same transaction (`feature_flag.updated`)."""
        for attempt in range(SAVE_ATTEMPTS):
            try:
                state = await self._db.transaction(lambda session: self._set_in(session, flag, rule, actor))
                break
            except (DuplicateKeyError, FlagChanged):
                # Another admin saved it first: this change goes on top of theirs (a PUT replaces).
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
        self._cached = None
        log.info(
            "feature_flag_updated",
            flag=flag.value,
            enabled=rule.enabled,
            rollout_percent=rule.rollout_percent,
        )
        return state

    async def _set_in(
        self, session: AsyncClientSession, flag: Flag, rule: FlagRule, actor: Actor
    ) -> FlagState:
        previous = await self._flags.get(flag, session)
        before = previous.rule if previous else self._defaults[flag]
        # Stored to the millisecond: the answer says what every later read will say.
        now = utc_millis(datetime.now(UTC))
        stored = await self._flags.save(session, flag, rule, actor.id, now, previous)
        await self._audit.record(
            session,
            actor,
            "feature_flag.updated",
            AuditObject("feature_flag", flag.value),
            before={**_audited(before), "source": "stored" if previous else "default"},
            after=_audited(rule),
        )
        return _state(flag, stored, self._defaults[flag])


def _state(flag: Flag, stored: StoredFlag | None, default: FlagRule) -> FlagState:
    if stored is None:
        return FlagState(flag, default)
    return FlagState(flag, stored.rule, stored.updated_by, stored.updated_at)


def _audited(rule: FlagRule) -> dict[str, object]:
    return {
        "enabled": rule.enabled,
        "rollout_percent": rule.rollout_percent,
        "allow_users": sorted(rule.allow_users),
        "deny_users": sorted(rule.deny_users),
    }
