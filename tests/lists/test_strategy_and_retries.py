"""Pure rules: strategy windows and retry decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lists import retries, strategy
from lists.errors import RetryRulesError, StrategyError


def moscow(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=ZoneInfo("Europe/Moscow"))


def test_default_strategy_puts_cold_first_in_the_morning_and_callbacks_in_the_afternoon() -> None:
    assert strategy.DEFAULT.order_at(moscow(9), "Europe/Moscow")[0] == "cold"
    assert strategy.DEFAULT.order_at(moscow(12, 59), "Europe/Moscow")[0] == "cold"
    assert strategy.DEFAULT.order_at(moscow(13), "Europe/Moscow")[:2] == ("callback", "follow_up")


def test_the_window_is_read_in_the_campaign_zone_not_utc() -> None:
    ten_in_moscow = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert strategy.DEFAULT.order_at(ten_in_moscow, "Europe/Moscow")[0] == "cold"
    assert strategy.DEFAULT.order_at(ten_in_moscow, "Asia/Vladivostok")[0] == "callback"  # 17:00 there


def test_a_window_from_the_cli_lists_every_category_once() -> None:
    window = strategy.parse_window("08:00-11:30=follow_up,cold")
    assert window.order == ("follow_up", "cold", "callback", "retry")


@pytest.mark.parametrize("text", ["08:00-07:00=cold", "8-9=cold", "08:00-09:00=warm", "08:00-09:00=cold,cold"])
def test_nonsense_windows_are_refused(text: str) -> None:
    with pytest.raises(StrategyError):
        strategy.parse_window(text)


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(StrategyError, match="overlap"):
        strategy.build([strategy.parse_window("09:00-13:00=cold"), strategy.parse_window("12:00-14:00=retry")])


def test_a_stored_strategy_reads_back_the_same() -> None:
    custom = strategy.build([strategy.parse_window("10:00-12:00=retry")])
    assert strategy.from_json(custom.to_json()) == custom
    assert strategy.from_json({}) == strategy.DEFAULT


@given(outcome=st.sampled_from(retries.RETRIED), attempts=st.integers(1, 10), today=st.integers(1, 10),
       minute=st.integers(0, 24 * 60 - 1))
def test_retry_decisions_never_exceed_the_caps(outcome: str, attempts: int, today: int, minute: int) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=minute)
    rules = retries.DEFAULT
    decision = rules.decide(outcome, attempts=attempts, attempts_today=min(today, attempts), now=now,
                            timezone="Europe/Moscow")
    if attempts >= rules.max_attempts:
        assert decision.done
        return
    assert not decision.done and decision.due is not None
    assert decision.due >= now + timedelta(seconds=rules.delays_s[outcome])
    if min(today, attempts) >= rules.max_per_day:
        local = ZoneInfo("Europe/Moscow")
        assert decision.due.astimezone(local).date() > now.astimezone(local).date()


def test_uk_preset_waits_72_hours_after_an_abandoned_call() -> None:
    decision = retries.UK.decide("abandoned", attempts=1, attempts_today=1, now=datetime(2026, 3, 2, tzinfo=UTC),
                                 timezone="Europe/London")
    assert decision.due == datetime(2026, 3, 5, tzinfo=UTC)


def test_retry_rules_merge_over_the_defaults_and_refuse_unknown_outcomes() -> None:
    rules = retries.from_json({"delays_s": {"busy": 60}, "max_attempts": 5})
    assert rules.delays_s["busy"] == 60 and rules.delays_s["no_answer"] == 30 * 60 and rules.max_attempts == 5
    with pytest.raises(RetryRulesError, match="ringing"):
        retries.from_json({"delays_s": {"ringing": 5}})


def test_a_campaign_toml_strategy_table_reads_as_the_stored_form() -> None:
    import tomllib

    document = tomllib.loads("""
[strategy]
windows = [
  { from = "08:30", to = "12:00", order = ["cold"] },
  { from = "12:00", to = "21:00", order = ["callback", "follow_up"] },
]

[retries]
delays_s = { busy = 300 }
max_per_day = 1
""")
    chosen = strategy.from_json(document["strategy"])
    assert [w.order[0] for w in chosen.windows] == ["cold", "callback"]
    assert chosen.order_at(moscow(8, 30), "Europe/Moscow")[0] == "cold"
    rules = retries.from_json(document["retries"])
    assert (rules.delays_s["busy"], rules.max_per_day, rules.max_attempts) == (300, 1, 3)
