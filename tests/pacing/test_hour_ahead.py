"""max_hour_abandon looks ahead: the hours that end over the next minutes keep today's abandons while their
oldest answers leave."""

from __future__ import annotations

import pytest

from pacing.abandonment import AbandonmentController
from pacing.hour_ahead import REPLACED, hours_ahead


def test_the_hours_ahead_keep_the_recent_abandons_while_the_old_answers_leave() -> None:
    answers = [float(t) for t in range(0, 3600, 12)]            # 300 answers over the last hour
    abandons = [3000.0, 3300.0, 3500.0]                          # all in its last 10 minutes
    ahead = hours_ahead(answers, abandons, 3600.0, pace_per_s=0.0, ahead_s=600.0, step_s=300.0)
    assert ahead == ((300.0, 3), (275.0, 3), (250.0, 3))
    paced = hours_ahead(answers, abandons, 3600.0, pace_per_s=1 / 12, ahead_s=600.0, step_s=300.0)
    assert paced[-1] == (pytest.approx(250.0 + REPLACED * 50.0), 3)


def test_an_hour_at_the_setting_whose_answers_are_leaving_falls_back_before_it_passes_it() -> None:
    # 9 abandons in 335 answers (2.7 %): room for one more now; 20 minutes on, 9 in 280 + the new answers
    hour = (335, 9)
    ahead = (hour, (310.0, 9), (290.0, 9))
    guarded = AbandonmentController(setpoint=0.025, cap=0.03, max_hour=0.03)
    assert not guarded.update(0.0, 3000, 60, hour=hour).fallback
    looking = AbandonmentController(setpoint=0.025, cap=0.03, max_hour=0.03)
    assert looking.update(0.0, 3000, 60, hour=hour, hours_ahead=ahead).fallback
    # without max_hour_abandon the hours are not guarded at all
    assert not AbandonmentController(setpoint=0.025, cap=0.03).update(0.0, 3000, 60, hour=hour,
                                                                      hours_ahead=ahead).fallback


def test_the_hours_ahead_reach_the_whole_hour_its_abandons_stay_in() -> None:
    # a 100-operator hour that fell back with 39 abandons in 1,550 answers passed 3 % 16 to 30 minutes later
    # (progressive answers half as many calls as predictive on cold leads): every hour that still holds one of
    # today's abandons is guarded, up to an hour ahead
    answers = [float(t) for t in range(0, 3600, 12)]
    ahead = hours_ahead(answers, [3500.0], 3600.0, pace_per_s=0.0)
    assert len(ahead) == 61
    assert ahead[40] == (100.0, 1)         # 40 minutes on: a third of the hour's answers are left, the abandon too
