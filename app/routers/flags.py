"""Feature flags as admins set them and support reads them: each flag's rule, and what a user gets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth import Principal, Role
from app.routers.contract import ContractRoute, raises
from app.routers.dependencies import FeatureFlagsDep, require_roles
from app.schemas.flags import FlagEvaluationOut, FlagList, FlagOut, FlagRuleBody
from app.services.flags import Flag, FlagRule, FlagState

router = APIRouter(prefix="/admin/flags", tags=["admin"], route_class=ContractRoute)

Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPPORT))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


@router.get("", summary="Every feature flag's rule")
@raises()
async def list_flags(_: Reader, flags: FeatureFlagsDep) -> FlagList:
    states = await flags.states()
    return FlagList(data=[_flag_out(states[flag]) for flag in Flag])


@router.put("/{name}", summary="Replace a feature flag's rule (audited)")
@raises()
async def put_flag(name: Flag, body: FlagRuleBody, admin_user: Admin, flags: FeatureFlagsDep) -> FlagOut:
    """Seen by this process at once, by the others within FEATURE_FLAGS_CACHE_SECONDS."""
    rule = FlagRule(
        enabled=body.enabled,
        rollout_percent=body.rollout_percent,
        allow_users=frozenset(body.allow_users),
        deny_users=frozenset(body.deny_users),
    )
    return _flag_out(await flags.set(name, rule, admin_user.actor))


@router.get("/{name}/evaluate", summary="What a user gets of a feature flag, and why")
@raises()
async def evaluate_flag(
    name: Flag,
    _: Reader,
    flags: FeatureFlagsDep,
    user_id: Annotated[str, Query(min_length=1, max_length=255)],
) -> FlagEvaluationOut:
    evaluation = await flags.evaluate(name, user_id)
    return FlagEvaluationOut(
        flag=evaluation.flag,
        user_id=evaluation.user_id,
        enabled=evaluation.on,
        decision=evaluation.decision,
        bucket=evaluation.bucket,
    )


def _flag_out(state: FlagState) -> FlagOut:
    return FlagOut(
        name=state.flag,
        enabled=state.rule.enabled,
        rollout_percent=state.rule.rollout_percent,
        allow_users=sorted(state.rule.allow_users),
        deny_users=sorted(state.rule.deny_users),
        source=state.source,
        updated_by=state.updated_by,
        updated_at=state.updated_at,
    )
