from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from compliance.hours import (
    NeverOpensError,
    may_call,
    most_restrictive_zone_verdict,
    next_opening,
    open_zones,
    policy_for,
)
from compliance.presets import RU_ANNUAL_HOLIDAYS
from compliance.verdict import NaiveMomentError
from compliance.windows import WindowError
from tests.compliance.strategies import AWKWARD_ZONES, moments_for, policies, zones

NY = ZoneInfo("America/New_York")


def at(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


# ---- examples a user would recognise -------------------------------------------------------------


def test_no_call_before_8am_in_callee_timezone() -> None:
    us = policy_for("US")
    assert not may_call("America/Los_Angeles", at("America/Los_Angeles", 2026, 6, 2, 7, 59), us)
    assert may_call("America/Los_Angeles", at("America/Los_Angeles", 2026, 6, 2, 8, 0), us)
    # 10:00 in New York is 07:00 in Los Angeles: the caller's clock does not matter.
    assert not may_call("America/Los_Angeles", at("America/New_York", 2026, 6, 2, 10, 0), us)


def test_last_call_starts_before_9pm_not_at_9pm() -> None:
    us = policy_for("US")
    assert may_call("America/New_York", at("America/New_York", 2026, 6, 2, 20, 59, 59), us)
    verdict = may_call("America/New_York", at("America/New_York", 2026, 6, 2, 21, 0), us)
    assert not verdict and "16 CFR 310.4(c)" in verdict.reason and "21:00" in verdict.reason


def test_florida_stops_at_8pm_and_caps_three_attempts_a_day() -> None:
    florida = policy_for("US", state="FL")
    assert not may_call("America/New_York", at("America/New_York", 2026, 6, 2, 20, 30), florida)
    assert may_call("America/New_York", at("America/New_York", 2026, 6, 2, 20, 30), policy_for("US"))
    assert [(c.limit, c.per) for c in florida.caps] == [(3, timedelta(hours=24))]


def test_texas_sunday_calls_start_at_noon() -> None:
    texas = policy_for("US", state="TX")
    sunday = at("America/Chicago", 2026, 6, 7, 11, 30)
    assert sunday.weekday() == 6
    assert not may_call("America/Chicago", sunday, texas)
    assert may_call("America/Chicago", sunday + timedelta(hours=1), texas)


def test_half_hour_zone_opens_on_its_own_half_hour() -> None:
    us_hours = policy_for("US")
    # 02:29 UTC is 07:59 in Kolkata (UTC+5:30); 02:30 UTC is 08:00.
    assert not may_call("Asia/Kolkata", datetime(2026, 6, 2, 2, 29, tzinfo=UTC), us_hours)
    assert may_call("Asia/Kolkata", datetime(2026, 6, 2, 2, 30, tzinfo=UTC), us_hours)
    # Adelaide in January is on daylight time, UTC+10:30: 08:00 local = 21:30 UTC the day before.
    assert next_opening("Australia/Adelaide", datetime(2026, 1, 14, 12, 0, tzinfo=UTC), us_hours) == datetime(
        2026, 1, 14, 21, 30, tzinfo=UTC
    )


def test_dst_start_morning_opens_at_8_local_not_8_standard_time() -> None:
    us = policy_for("US")
    # 8 March 2026: New York moves to EDT (UTC−4) at 02:00; 08:00 EDT is 12:00 UTC.
    assert not may_call("America/New_York", datetime(2026, 3, 8, 11, 59, tzinfo=UTC), us)
    assert may_call("America/New_York", datetime(2026, 3, 8, 12, 0, tzinfo=UTC), us)
    assert next_opening("America/New_York", datetime(2026, 3, 8, 6, 0, tzinfo=UTC), us) == datetime(
        2026, 3, 8, 12, 0, tzinfo=UTC
    )


def test_russian_debt_collection_weekend_and_holiday_hours() -> None:
    ru = policy_for("RU")
    msk = "Europe/Moscow"
    assert may_call(msk, at(msk, 2026, 6, 3, 21, 30), ru)  # Wednesday: until 22:00
    assert not may_call(msk, at(msk, 2026, 6, 6, 20, 30), ru)  # Saturday: until 20:00
    assert not may_call(msk, at(msk, 2026, 6, 6, 8, 30), ru)  # Saturday: from 09:00
    holiday = may_call(msk, at(msk, 2026, 6, 12, 21, 0), ru)  # Friday 12 June, Russia Day
    assert not holiday and "holiday" in holiday.reason
    # A government transfer of a day off, added to the calendar, gets holiday hours too.
    assert may_call(msk, at(msk, 2026, 6, 1, 21, 0), ru)
    assert not may_call(msk, at(msk, 2026, 6, 1, 21, 0), policy_for("RU", holidays=[date(2026, 6, 1)]))


def test_configured_holiday_closes_a_us_campaign() -> None:
    thanksgiving = date(2026, 11, 26)
    verdict = may_call("America/Chicago", at("America/Chicago", 2026, 11, 26, 12, 0), policy_for(
        "US", holidays=[thanksgiving]))
    assert not verdict


def test_campaign_windows_narrow_but_never_widen_a_preset() -> None:
    narrowed = policy_for("US", campaign_windows=["07:00-12:00", "14:00-23:00"])
    ny = "America/New_York"
    assert not may_call(ny, at(ny, 2026, 6, 2, 7, 30), narrowed)  # campaign allows, law does not
    assert not may_call(ny, at(ny, 2026, 6, 2, 13, 0), narrowed)  # law allows, campaign does not
    assert not may_call(ny, at(ny, 2026, 6, 2, 22, 0), narrowed)
    assert may_call(ny, at(ny, 2026, 6, 2, 15, 0), narrowed)


def test_campaign_window_mapping_closes_days_it_does_not_name() -> None:
    weekdays_only = policy_for(None, campaign_windows={"mon-fri": "09:00-17:00"})
    assert may_call("UTC", datetime(2026, 6, 5, 10, tzinfo=UTC), weekdays_only)  # Friday
    assert not may_call("UTC", datetime(2026, 6, 6, 10, tzinfo=UTC), weekdays_only)  # Saturday


def test_multi_zone_number_is_callable_only_where_all_its_zones_are() -> None:
    us = policy_for("US")
    key = "America/Boise|America/Los_Angeles"  # Idaho's area code spans Mountain and Pacific time
    moment = at("America/Boise", 2026, 6, 2, 8, 30)  # 07:30 in Los Angeles
    assert may_call("America/Boise", moment, us)
    assert not may_call(key, moment, us)
    assert next_opening(key, moment, us) == at("America/Los_Angeles", 2026, 6, 2, 8, 0)


def test_unknown_zone_is_never_callable() -> None:
    verdict = may_call("Mars/Olympus_Mons", datetime(2026, 6, 2, 12, tzinfo=UTC), policy_for("US"))
    assert not verdict and "unknown time zone" in verdict.reason


def test_naive_moment_is_refused() -> None:
    with pytest.raises(NaiveMomentError):
        may_call("UTC", datetime(2026, 6, 2, 12), policy_for("US"))


def test_unknown_preset_and_bad_window_name_the_problem() -> None:
    with pytest.raises(ValueError, match="DE"):
        policy_for("DE")
    with pytest.raises(WindowError, match="25:00"):
        policy_for("US", campaign_windows="09:00-25:00")
    with pytest.raises(WindowError, match="caturday"):
        policy_for("US", campaign_windows={"caturday": "09:00-12:00"})


def test_policy_that_never_opens_says_so() -> None:
    closed = policy_for("US", campaign_windows={"mon-fri": "06:00-07:30"})  # before the law allows
    with pytest.raises(NeverOpensError):
        next_opening("America/New_York", datetime(2026, 6, 2, tzinfo=UTC), closed)


# ---- properties ---------------------------------------------------------------------------------


def _us_oracle(local: datetime) -> bool:
    return 8 <= local.hour < 21


def _ru_oracle(local: datetime) -> bool:
    rest = local.weekday() >= 5 or (local.month, local.day) in RU_ANNUAL_HOLIDAYS
    return 9 <= local.hour < 20 if rest else 8 <= local.hour < 22


@settings(max_examples=200, deadline=None)   # a wall-clock deadline fails on a loaded machine, not on a bug
@given(data=st.data(), zone=zones)
def test_preset_hours_agree_with_the_law_written_out_by_hand(data: st.DataObject, zone: str) -> None:
    moment = data.draw(moments_for(zone))
    local = moment.astimezone(ZoneInfo(zone))
    assert bool(may_call(zone, moment, policy_for("US"))) == _us_oracle(local)
    assert bool(may_call(zone, moment, policy_for("UK"))) == _us_oracle(local)
    assert bool(may_call(zone, moment, policy_for("RU"))) == _ru_oracle(local)


@settings(max_examples=200, deadline=None)   # a wall-clock deadline fails on a loaded machine, not on a bug
@given(data=st.data(), zone=zones, policy=policies())
def test_may_call_never_allows_a_moment_outside_every_rule_in_local_time(
    data: st.DataObject, zone: str, policy
) -> None:
    moment = data.draw(moments_for(zone))
    local = moment.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    inside_all = all(
        any(w.start <= minute < w.end for w in rule.windows_on(local.date())) for rule in policy.rules
    )
    assert bool(may_call(zone, moment, policy)) == inside_all


@settings(max_examples=200, deadline=None)   # a wall-clock deadline fails on a loaded machine, not on a bug
@given(data=st.data(), policy=policies(), picked=st.lists(zones, min_size=1, max_size=6))
def test_open_zones_are_exactly_the_zones_may_call_allows(data: st.DataObject, policy, picked) -> None:
    moment = data.draw(moments_for(picked[0]))
    assert open_zones(picked, moment, policy) == {z for z in picked if may_call(z, moment, policy)}


@settings(max_examples=200, deadline=None)   # a wall-clock deadline fails on a loaded machine, not on a bug
@given(data=st.data(), policy=policies(), picked=st.lists(zones, min_size=1, max_size=4, unique=True))
def test_a_multi_zone_number_is_allowed_only_when_every_zone_is(data: st.DataObject, policy, picked) -> None:
    moment = data.draw(moments_for(picked[0]))
    expected = all(may_call(z, moment, policy) for z in picked)
    assert bool(most_restrictive_zone_verdict(picked, moment, policy)) == expected
    assert bool(may_call("|".join(picked), moment, policy)) == expected


@settings(max_examples=200, deadline=None)   # a wall-clock deadline fails on a loaded machine, not on a bug
@given(data=st.data(), zone=zones, preset=st.sampled_from(["US", "UK", "RU"]))
def test_campaign_windows_only_ever_remove_moments(data: st.DataObject, zone: str, preset: str) -> None:
    from tests.compliance.strategies import campaign_windows

    moment = data.draw(moments_for(zone))
    narrowed = policy_for(preset, campaign_windows=data.draw(campaign_windows))
    if may_call(zone, moment, narrowed):
        assert may_call(zone, moment, policy_for(preset))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), zone=st.sampled_from(AWKWARD_ZONES), policy=policies())
def test_next_opening_is_the_first_allowed_moment(data: st.DataObject, zone: str, policy) -> None:
    moment = data.draw(moments_for(zone))
    try:
        opening = next_opening(zone, moment, policy)
    except NeverOpensError:
        assume(False)
        return
    assert opening >= moment
    assert may_call(zone, opening, policy)
    if opening > moment:
        assert not may_call(zone, opening - timedelta(seconds=1), policy)
        # Nothing allowed in between, checked every 5 minutes over the first two days.
        probe = moment
        while probe < min(opening, moment + timedelta(days=2)):
            assert not may_call(zone, probe, policy), probe
            probe += timedelta(minutes=5)


def test_window_starting_inside_the_spring_forward_gap_opens_when_the_clock_jumps() -> None:
    night = policy_for(None, campaign_windows="02:30-04:00")
    # 8 March 2026 in New York: 02:00 EST jumps to 03:00 EDT (07:00 UTC); 02:30 never happens.
    opening = next_opening("America/New_York", datetime(2026, 3, 8, 6, 0, tzinfo=UTC), night)
    assert opening == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_window_inside_the_repeated_fall_back_hour_opens_again_on_the_second_pass() -> None:
    night = policy_for(None, campaign_windows="01:30-01:45")
    # 1 November 2026 in New York: 01:00–02:00 happens twice (EDT, then EST from 06:00 UTC).
    second_pass_before_window = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert not may_call("America/New_York", second_pass_before_window, night)
    opening = next_opening("America/New_York", second_pass_before_window, night)
    assert opening == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST


def test_a_window_holding_the_repeated_wall_time_opens_again_when_the_clock_falls_back() -> None:
    night = policy_for(None, campaign_windows="00:00-01:05")
    # 1 November 2026 in New York: at 06:00 UTC the wall clock falls back from 01:59:59 EDT to 01:00 EST,
    # a wall time inside the window again, though the window's start (00:00) does not repeat.
    after_the_first_pass = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert not may_call("America/New_York", after_the_first_pass, night)
    assert may_call("America/New_York", datetime(2026, 11, 1, 6, 0, tzinfo=UTC), night)
    opening = next_opening("America/New_York", after_the_first_pass, night)
    assert opening == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00 EST
