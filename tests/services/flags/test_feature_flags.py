"""The flags service: defaults from the settings, rules stored by admins and audited, and the
process's cache (one read for every flag, at most once per `cache_seconds`)."""

import asyncio

import pytest

from app.config import Settings
from app.container import flag_defaults
from app.db import Database
from app.domain.audit import Actor
from app.domain.flags import Decision
from app.services.audit import AuditLog
from app.services.flags import FeatureDisabled, FeatureFlags, Flag, FlagRule
from tests.command_log import CommandLog
from tests.conftest import make_settings
from tests.services.audit.support import audit_documents

ADMIN = Actor.user("admin-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def flags_of(database: Database, settings: Settings, clock: Clock, cache_seconds: float = 5) -> FeatureFlags:
    """A process's flags service (two of them on one database are two processes)."""
    return FeatureFlags(
        database, AuditLog(database), flag_defaults(settings), cache_seconds=cache_seconds, clock=clock
    )


async def test_a_flag_without_a_stored_rule_follows_the_settings(
    mongodb_uri: str, database: Database
) -> None:
    settings = make_settings(mongodb_uri, feature_wallet_v2_percent=0, feature_checkout_v2_percent=100)
    flags = flags_of(database, settings, Clock())

    states = await flags.states()

    assert states[Flag.WALLET_V2].rule == FlagRule(enabled=True, rollout_percent=0)
    assert states[Flag.CHECKOUT_V2].rule == FlagRule(enabled=True, rollout_percent=100)
    assert {state.source for state in states.values()} == {"default"}
    assert not await flags.is_on(Flag.WALLET_V2, "anyone")
    assert await flags.is_on(Flag.CHECKOUT_V2, "anyone")


async def test_a_stored_rule_replaces_the_default_and_is_audited_in_its_transaction(
    settings: Settings, database: Database, clock: Clock
) -> None:
    flags = flags_of(database, settings, clock)
    rule = FlagRule(enabled=True, rollout_percent=10, allow_users=frozenset({"staff-1"}))

    state = await flags.set(Flag.WALLET_V2, rule, ADMIN)
    await flags.set(Flag.WALLET_V2, FlagRule(enabled=False, rollout_percent=10), ADMIN)

    assert (state.rule, state.updated_by, state.source) == (rule, "admin-1", "stored")
    assert (await flags.states())[Flag.WALLET_V2].rule == FlagRule(enabled=False, rollout_percent=10)
    records = sorted(
        await audit_documents(database, action="feature_flag.updated"), key=lambda record: record["at"]
    )
    assert [(record["object"], record["actor"]["id"]) for record in records] == [
        ({"type": "feature_flag", "id": "wallet_v2"}, "admin-1")
    ] * 2
    assert records[0]["before"] == {
        "enabled": True,
        "rollout_percent": settings.feature_wallet_v2_percent,
        "allow_users": [],
        "deny_users": [],
        "source": "default",
    }
    assert records[0]["after"]["allow_users"] == ["staff-1"]
    assert (records[1]["before"]["source"], records[1]["after"]["enabled"]) == ("stored", False)


async def test_admins_saving_a_flag_at_once_all_land_one_after_the_other(
    settings: Settings, database: Database, clock: Clock
) -> None:
    flags = flags_of(database, settings, clock)
    rules = [FlagRule(enabled=True, rollout_percent=percent) for percent in (1, 10, 50)]

    await asyncio.gather(*(flags.set(Flag.CHECKOUT_V2, rule, ADMIN) for rule in rules))

    records = await audit_documents(database, action="feature_flag.updated")
    assert len(records) == 3
    # Each change starts from the one before it: the three form one chain of versions.
    befores = {record["before"]["rollout_percent"] for record in records}
    afters = {record["after"]["rollout_percent"] for record in records}
    assert afters == {1, 10, 50}
    assert len(afters - befores) == 1
    stored = (await flags.states())[Flag.CHECKOUT_V2].rule.rollout_percent
    assert afters - befores == {stored}


async def test_rules_are_read_once_for_every_flag_and_kept_for_the_cache_seconds(
    settings: Settings, database: Database, clock: Clock, command_log: CommandLog
) -> None:
    this_process, other_process = flags_of(database, settings, clock), flags_of(database, settings, clock)
    await this_process.states()

    with command_log.recording(settings.mongodb_database) as cached:
        for flag in Flag:
            await this_process.evaluate(flag, "user-1")
    await other_process.set(Flag.WALLET_V2, FlagRule(enabled=False, rollout_percent=100), ADMIN)
    clock.now += 4.9
    still_cached = await this_process.is_on(Flag.WALLET_V2, "user-1")
    clock.now += 0.2
    with command_log.recording(settings.mongodb_database) as reloaded:
        for flag in Flag:
            await this_process.evaluate(flag, "user-1")

    assert cached == []
    assert settings.feature_wallet_v2_percent == 100
    assert still_cached
    assert not await this_process.is_on(Flag.WALLET_V2, "user-1")
    assert [(command.name, command.collection) for command in reloaded] == [("find", "feature_flags")]
    # The process that changed the flag sees its change at once.
    assert not await other_process.is_on(Flag.WALLET_V2, "user-1")


async def test_requests_arriving_together_with_a_stale_cache_read_the_rules_once(
    settings: Settings, database: Database, clock: Clock, command_log: CommandLog
) -> None:
    flags = flags_of(database, settings, clock)

    with command_log.recording(settings.mongodb_database) as reads:
        await asyncio.gather(*(flags.is_on(Flag.SELLER_PAYOUTS, f"user-{n}") for n in range(20)))

    assert [(command.name, command.collection) for command in reads] == [("find", "feature_flags")]


async def test_require_refuses_a_user_the_flag_is_off_for_and_names_the_feature(
    settings: Settings, database: Database, clock: Clock
) -> None:
    flags = flags_of(database, settings, clock)
    await flags.set(Flag.SELLER_PAYOUTS, FlagRule(True, 0, allow_users=frozenset({"seller-1"})), ADMIN)

    await flags.require(Flag.SELLER_PAYOUTS, "seller-1")
    with pytest.raises(FeatureDisabled) as refused:
        await flags.require(Flag.SELLER_PAYOUTS, "seller-2")

    assert (refused.value.code, refused.value.status) == ("feature_disabled", 403)
    assert refused.value.extensions == {"feature": "seller_payouts"}
    evaluation = await flags.evaluate(Flag.SELLER_PAYOUTS, "seller-2")
    assert evaluation.decision is Decision.OUT_OF_ROLLOUT
