"""The law's rolling window looks ahead too: its oldest answers (yesterday's) leave it over the next minutes while
the abandons still in it stay, so it can pass the cap before the day ends with no new abandon."""

from __future__ import annotations

import numpy as np
import pytest

from pacing.abandonment import AbandonmentController
from pacing.day import DayFloor
from pacing.hour_ahead import REPLACED, ahead_ends, window_ends, windows_ahead
from pacing.legal_window import DAY_S, WindowHistory
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer


def test_the_windows_ahead_add_todays_answers_to_come_until_the_day_ends() -> None:
    staying = [(1000, 28), (950, 28), (900, 28)]
    assert ahead_ends(100.0, ahead_s=600.0, step_s=300.0).tolist() == [100.0, 400.0, 700.0]
    assert windows_ahead(staying, pace_per_s=0.0, step_s=300.0).tolist() == [[1000.0, 28], [950.0, 28], [900.0, 28]]
    paced = windows_ahead(staying, pace_per_s=0.1, step_s=300.0)
    assert paced[2].tolist() == [pytest.approx(900.0 + REPLACED * 60.0), 28]
    # no answer comes after the calling day ends (400 s from now)
    assert windows_ahead(staying, pace_per_s=0.1, left_s=400.0, step_s=300.0)[2][0] == pytest.approx(
        900.0 + REPLACED * 40.0)


def test_a_window_whose_old_answers_are_leaving_falls_back_before_it_passes_the_cap() -> None:
    # 28 abandons in 1,000 answers (2.8 %): room for two more now; 20 minutes on, the same 28 in 850
    ahead = ((1000.0, 28), (930.0, 28), (850.0, 28))
    assert not AbandonmentController(setpoint=0.025, cap=0.03).update(0.0, 1000, 28).fallback
    assert AbandonmentController(setpoint=0.025, cap=0.03).update(0.0, 1000, 28, windows_ahead=ahead).fallback
    # a window that only gains answers ahead is no tighter than now
    gaining = ((1000.0, 28), (1010.0, 28))
    assert not AbandonmentController(setpoint=0.025, cap=0.03).update(0.0, 1000, 28,
                                                                      windows_ahead=gaining).fallback


def _floor(leaving: int, start_s: float = 0.0, spread_s: float = 600.0) -> DayFloor:
    """Yesterday in the 24-hour window: 1,000 answers and 28 abandons; ``leaving`` of the answers were made over
    ``spread_s`` from ``start_s`` into yesterday's day, so they leave the window over that stretch of today."""
    early = -DAY_S + start_s + spread_s * (np.arange(leaving) + 0.5) / leaving
    late = np.linspace(-DAY_S + start_s + 3600.0, -DAY_S + 8 * 3600.0, 1000 - leaving)
    floor = DayFloor(5)
    floor.history = WindowHistory(DAY_S, np.sort(np.concatenate([early, late])),
                                  np.linspace(-DAY_S + 7 * 3600.0, -DAY_S + 8 * 3600.0, 28))
    floor.day_end_s = 8 * 3600.0
    return floor


def test_the_simulated_pacer_falls_back_when_yesterdays_answers_leave_the_window() -> None:
    settings = PacingSettings(mode="predictive")
    steady = PolicyPacer(settings)
    steady.decide(_floor(leaving=1))
    assert steady._decision is not None and not steady._decision.fallback
    leaving = PolicyPacer(settings)
    leaving.decide(_floor(leaving=150))
    assert leaving._decision is not None and leaving._decision.fallback


def test_the_window_is_guarded_over_the_next_hour_not_only_the_next_20_minutes() -> None:
    # A floor that falls back answers less than the window loses for as long as yesterday's busier hours leave it:
    # on a 5-operator day the window went on shrinking for 45 minutes after the fall-back and passed 3 %. So the
    # windows guarded reach an hour ahead (yesterday's answers leaving then are known as well as the next ones).
    pacer = PolicyPacer(PacingSettings(mode="predictive"))
    pacer.decide(_floor(150, start_s=2400.0, spread_s=1800.0))          # they leave 40 to 70 minutes from now
    assert pacer._decision is not None and pacer._decision.fallback
    later = PolicyPacer(PacingSettings(mode="predictive"))
    later.decide(_floor(150, start_s=4800.0, spread_s=1800.0))           # 80 to 110 minutes from now: not yet
    assert later._decision is not None and not later._decision.fallback


def test_the_windows_guarded_end_every_minute_over_the_next_hour() -> None:
    ends = window_ends(100.0)
    assert (ends[0], ends[-1], len(ends)) == (100.0, 3700.0, 61)
