"""The simulated pacer sees what the engine sees: each call's chance of an answer and the day ahead."""

from __future__ import annotations

from pacing.day import DayFloor
from pacing.dial_features import DialFeatures
from pacing.dial_plan import strategy_plan
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer

PLAN = strategy_plan([(0, "cold"), (3600, "callback")], {"cold": 0.1, "callback": 0.4})


def test_the_next_calls_chance_moves_the_moment_the_strategy_switches() -> None:
    pacer = PolicyPacer(PacingSettings(mode="predictive"))
    floor = DayFloor(5)
    floor.plan = PLAN
    cold = PLAN.features(0.0)
    for call in range(600):                                   # ten minutes of cold calls, one in ten answered
        pacer.on_placed(call, call, cold)
        pacer.on_outcome(call + 10.0, call, cold, call % 10 == 0, False)
    floor.now = 3599.0
    before = pacer._snapshot(floor).next_answer_p
    floor.now = 3600.0
    after = pacer._snapshot(floor).next_answer_p
    assert before[0] < 0.2 < 0.45 < after[0]       # a category never dialed: assumed likely to answer
    floor.ringing[700] = 3590.0
    floor.features[700] = cold
    pacer.on_placed(3590.0, 700, cold)
    assert pacer._snapshot(floor).ringing_answer_p == before


def test_the_day_ahead_is_the_recent_pace_times_the_time_left() -> None:
    pacer = PolicyPacer(PacingSettings(mode="predictive"))
    assert pacer.outlook is not None
    for k in range(90):                                       # 90 answers in the last 15 minutes
        pacer.on_outcome(2000.0 + 10.0 * k, k, DialFeatures(), True, False)
    assert pacer.outlook.answers_to_come(2900.0, 2900.0 + 3600.0) == 360.0
    assert pacer.outlook.answers_to_come(2900.0, None) is None
    assert PolicyPacer(PacingSettings(mode="predictive"), informed=False).outlook is None
