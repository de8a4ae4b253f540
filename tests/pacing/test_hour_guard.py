"""max_hour_abandon: the worst rolling 60 minutes guarded like the law's window, and only ever tighter."""

from __future__ import annotations

import pytest

from compliance.limits import LegalLimitError, check_pacing, legal_limits, within_limits
from pacing.abandonment import AbandonmentController
from pacing.policies import PacingSettings, PacingSettingsError


def test_a_bad_hour_sends_the_controller_to_progressive_only_when_asked() -> None:
    day, hour = (3000, 60), (300, 9)                  # 2 % over the day, 3 % in the last hour
    guarded = AbandonmentController(setpoint=0.025, cap=0.03, max_hour=0.03)
    plain = AbandonmentController(setpoint=0.025, cap=0.03)
    assert guarded.update(0.0, *day, hour=hour).fallback
    assert not plain.update(0.0, *day, hour=hour).fallback
    assert not guarded.update(1.0, *day, hour=(300, 4)).fallback


def test_max_hour_abandon_may_only_tighten_the_cap() -> None:
    assert PacingSettings(max_hour_abandon=0.03).max_hour_abandon == 0.03
    assert PacingSettings().max_hour_abandon is None
    with pytest.raises(PacingSettingsError, match="max_hour_abandon may only tighten the cap"):
        PacingSettings(max_hour_abandon=0.04)
    with pytest.raises(PacingSettingsError, match="max_hour_abandon"):
        PacingSettings(max_hour_abandon=0.0)
    with pytest.raises(ValueError, match="max_hour_abandon"):
        AbandonmentController(cap=0.03, max_hour=0.05)


def test_the_preset_cap_bounds_max_hour_abandon() -> None:
    limits = legal_limits("UK")
    with pytest.raises(LegalLimitError, match="max_hour_abandon"):
        check_pacing({"max_hour_abandon": limits.abandon_cap + 0.01}, limits)
    check_pacing({"max_hour_abandon": limits.abandon_cap}, limits)
    held = within_limits({"abandon_cap": 0.02, "max_hour_abandon": 0.03}, limits)
    assert held["max_hour_abandon"] == 0.02


def test_an_hour_of_few_answers_is_allowed_one_abandon_not_the_days_two() -> None:
    # a small team's hour: 40 answers. A second abandon would make it 5 %: after the first, progressive
    guarded = AbandonmentController(setpoint=0.025, cap=0.03, max_hour=0.03)
    assert not guarded.update(0.0, 400, 4, hour=(40, 0)).fallback
    assert guarded.update(1.0, 400, 5, hour=(40, 1)).fallback
    assert not guarded.update(2.0, 800, 5, hour=(120, 1)).fallback      # 120 answers: 3 % is 3.6 abandons


def test_the_hour_keeps_room_for_every_answer_in_flight() -> None:
    # On a saturated 100-operator floor the answers of the calls already ringing find no operator together: six
    # abandoned within 6 s of a fall-back that had room for two. The hour falls back while its room is less than
    # the answers in flight; the legal window (its own margin) is not changed by them.
    day, hour = (15_000, 250), (1800, 48)         # the hour: 6 abandons of room under 3 %
    assert not AbandonmentController(setpoint=0.025, cap=0.03, max_hour=0.03).update(
        0.0, *day, margin_abandons=2.0, hour=hour, in_flight_answers=4.0).fallback
    assert AbandonmentController(setpoint=0.025, cap=0.03, max_hour=0.03).update(
        0.0, *day, margin_abandons=2.0, hour=hour, in_flight_answers=9.0).fallback
    assert not AbandonmentController(setpoint=0.025, cap=0.03).update(
        0.0, *day, margin_abandons=2.0, hour=hour, in_flight_answers=9.0).fallback
