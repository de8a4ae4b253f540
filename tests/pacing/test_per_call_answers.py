"""The predictive bound with each call's own chance of an answer."""

from __future__ import annotations

import random

from pacing.policies import PacingSettings, predictive
from pacing.snapshot import Estimates, Snapshot

EST = Estimates(answer_rate=0.3, samples=100)
SETTINGS = PacingSettings(mode="predictive")


def test_the_same_chance_for_every_call_gives_the_answer_of_one_rate() -> None:
    rng = random.Random(1)
    for free, ringing, busy in [(3, 2, 2), (5, 10, 15), (1, 0, 19), (10, 30, 10), (30, 60, 70)]:
        elapsed = tuple(rng.uniform(0, 20) for _ in range(ringing))
        handles = tuple(rng.uniform(0, 300) for _ in range(busy))
        one_rate = predictive(Snapshot(free, handles, elapsed, 0, EST), SETTINGS, 0.025)
        per_call = predictive(Snapshot(free, handles, elapsed, 0, EST, ringing_answer_p=(0.3,) * ringing,
                                       next_answer_p=(0.3,)), SETTINGS, 0.025)
        assert per_call == one_rate


def test_likelier_answers_ringing_or_next_mean_fewer_new_calls() -> None:
    elapsed = (1.0, 3.0, 5.0, 7.0, 9.0, 11.0)
    base = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.3,) * 6, next_answer_p=(0.3,))
    callbacks_ringing = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.6,) * 6, next_answer_p=(0.3,))
    callbacks_next = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.3,) * 6, next_answer_p=(0.6,))
    cold_next = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.3,) * 6, next_answer_p=(0.1,))
    n = predictive(base, SETTINGS, 0.025)
    assert predictive(callbacks_ringing, SETTINGS, 0.025) < n
    assert predictive(callbacks_next, SETTINGS, 0.025) < n < predictive(cold_next, SETTINGS, 0.025)
