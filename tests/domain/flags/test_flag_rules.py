"""How a flag's rule decides per user: the order of the rule's parts, and the rollout's buckets."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.flags import BUCKETS, MAX_LISTED_USERS, Decision, Flag, FlagRule, bucket, evaluate

users = st.text(min_size=1, max_size=40)
flags = st.sampled_from(list(Flag))
percents = st.integers(min_value=0, max_value=100)


@given(flags, users)
def test_no_one_gets_a_flag_at_zero_percent_and_everyone_at_a_hundred(flag: Flag, user: str) -> None:
    off = evaluate(flag, FlagRule(enabled=True, rollout_percent=0), user)
    on = evaluate(flag, FlagRule(enabled=True, rollout_percent=100), user)

    assert (off.on, off.decision) == (False, Decision.OUT_OF_ROLLOUT)
    assert (on.on, on.decision) == (True, Decision.IN_ROLLOUT)


@given(flags, users, percents)
def test_an_allowed_user_gets_the_flag_whatever_the_percentage(flag: Flag, user: str, percent: int) -> None:
    evaluation = evaluate(flag, FlagRule(True, percent, allow_users=frozenset({user})), user)

    assert (evaluation.on, evaluation.decision) == (True, Decision.ALLOWED)


@given(flags, users, percents)
def test_a_denied_user_never_gets_the_flag_even_when_also_allowed(
    flag: Flag, user: str, percent: int
) -> None:
    listed = frozenset({user})
    evaluation = evaluate(flag, FlagRule(True, percent, allow_users=listed, deny_users=listed), user)

    assert (evaluation.on, evaluation.decision) == (False, Decision.DENIED)


@given(flags, users, percents, st.booleans())
def test_the_kill_switch_turns_the_flag_off_for_everyone(
    flag: Flag, user: str, percent: int, allowed: bool
) -> None:
    rule = FlagRule(False, percent, allow_users=frozenset({user} if allowed else ()))

    evaluation = evaluate(flag, rule, user)

    assert (evaluation.on, evaluation.decision) == (False, Decision.KILL_SWITCH)


@pytest.mark.parametrize("percent", [1, 10, 25, 50, 90])
@settings(deadline=None, max_examples=20)
@given(prefix=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", max_size=12))
def test_about_n_percent_of_ten_thousand_users_get_a_flag_at_n_percent(percent: int, prefix: str) -> None:
    rule = FlagRule(enabled=True, rollout_percent=percent)

    share = sum(evaluate(Flag.WALLET_V2, rule, f"{prefix}user-{n}").on for n in range(10_000)) / 100

    # A binomial share of 10,000 deviates by at most 0.5 point (one standard deviation at 50 %);
    # 2 points is four of them.
    assert abs(share - percent) <= 2, share


@given(flags, users, percents, percents)
def test_raising_the_percentage_never_takes_the_flag_from_a_user(
    flag: Flag, user: str, lower: int, higher: int
) -> None:
    lower, higher = sorted((lower, higher))

    before = evaluate(flag, FlagRule(True, lower), user).on
    after = evaluate(flag, FlagRule(True, higher), user).on

    assert after or not before


@given(flags, users)
def test_a_users_bucket_is_stable_and_in_range(flag: Flag, user: str) -> None:
    assert bucket(flag, user) == bucket(flag, user)
    assert 0 <= bucket(flag, user) < BUCKETS


def test_a_users_bucket_differs_per_flag_so_early_users_are_not_the_same_for_every_flag() -> None:
    first_percent = {
        flag: {n for n in range(5_000) if bucket(flag, f"user-{n}") < BUCKETS // 100} for flag in Flag
    }

    assert len({frozenset(users) for users in first_percent.values()}) == len(Flag)


@pytest.mark.parametrize(
    ("flag", "user", "expected"),
    [(Flag.WALLET_V2, "alice", 9043), (Flag.CHECKOUT_V2, "alice", 5171), (Flag.WALLET_V2, "user-1", 8458)],
)
def test_buckets_are_pinned_so_a_release_never_reshuffles_a_rollout(
    flag: Flag, user: str, expected: int
) -> None:
    """SHA-256 of `{flag}:{user}`, first eight bytes, modulo 10,000: a change of the formula would
    move users in and out of a rollout under way."""
    assert bucket(flag, user) == expected


@pytest.mark.parametrize("percent", [-1, 101])
def test_a_percentage_outside_zero_to_a_hundred_is_refused(percent: int) -> None:
    with pytest.raises(ValueError, match="rollout_percent"):
        FlagRule(enabled=True, rollout_percent=percent)


def test_a_rule_lists_a_bounded_number_of_users() -> None:
    with pytest.raises(ValueError, match="at most"):
        FlagRule(True, 0, allow_users=frozenset(str(n) for n in range(MAX_LISTED_USERS + 1)))
