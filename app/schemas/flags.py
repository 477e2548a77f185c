"""Requests and responses of the feature flags' admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt

from app.domain.flags import MAX_LISTED_USERS, Decision, Flag
from app.schemas.base import RequestBody

UserId = Annotated[str, Field(min_length=1, max_length=255)]


class FlagRuleBody(RequestBody):
    """A flag's whole rule (a PUT replaces it)."""

    enabled: StrictBool = Field(
        description="Kill switch: false turns the flag off for everyone, listed users included"
    )
    rollout_percent: StrictInt = Field(ge=0, le=100, description="Share of users, 0 to 100, by a stable hash")
    allow_users: list[UserId] = Field(
        default_factory=list,
        max_length=MAX_LISTED_USERS,
        description="Users who get it whatever the percentage",
    )
    deny_users: list[UserId] = Field(
        default_factory=list,
        max_length=MAX_LISTED_USERS,
        description="Users who never get it (beats allow_users)",
    )


class FlagOut(BaseModel):
    name: Flag
    enabled: bool
    rollout_percent: int
    allow_users: list[str]
    deny_users: list[str]
    source: str = Field(description="`stored` (set by an admin) or `default` (from the settings)")
    updated_by: str | None
    updated_at: datetime | None


class FlagList(BaseModel):
    data: list[FlagOut]


class FlagEvaluationOut(BaseModel):
    flag: Flag
    user_id: str
    enabled: bool = Field(description="Whether this user gets the flag now")
    decision: Decision = Field(
        description="Why: kill_switch, denied, allowed, in_rollout or out_of_rollout (bucket vs percentage)"
    )
    bucket: int = Field(description="The user's stable place, 0 to 9,999; in the rollout below percent * 100")
