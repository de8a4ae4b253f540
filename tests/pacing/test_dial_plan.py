"""The simulated day's plan: answer rates that move through the day, categories the dialer knows of, and the
measurements the pacing targets are read from (quarters of an hour, the legal window)."""

from __future__ import annotations

import numpy as np
import pytest

from pacing.day import DayFloor
from pacing.dial_features import DialFeatures
from pacing.dial_plan import DialPlanError, constant_plan, profile_plan, strategy_plan
from pacing.legal_window import given_history, history_after, quarters_of
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer, simulate
from pacing.world import World, WorldError, draw_callees


def predictive() -> PolicyPacer:
    return PolicyPacer(PacingSettings(mode="predictive"))


def test_a_constant_plan_is_the_same_day_as_no_plan() -> None:
    world = World(answer_rate=0.3, talk_mean_s=120.0)
    plain = simulate(world, 7, predictive(), hours=0.5, seed=4)
    planned = simulate(world, 7, predictive(), hours=0.5, seed=4, plan=constant_plan(0.3))
    assert plain == planned


def test_answers_follow_the_profile_hour_by_hour() -> None:
    plan = profile_plan([(0, 0.35), (1, 0.1)])
    report = simulate(World(talk_mean_s=60.0), 5, PolicyPacer(PacingSettings(mode="progressive")), hours=2.0,
                      seed=1, plan=plan)
    first = [q for q in report.quarters if q.start_s < 3600]
    second = [q for q in report.quarters if q.start_s >= 3600]
    rate = [sum(q.answers for q in part) / sum(q.dials for q in part) for part in (first, second)]
    assert rate[0] == pytest.approx(0.35, abs=0.05) and rate[1] == pytest.approx(0.1, abs=0.03), rate


def test_quarters_add_up_to_the_day() -> None:
    report = simulate(World(answer_rate=0.3, talk_mean_s=90.0), 6, predictive(), hours=1.1, seed=2)
    assert len(report.quarters) == 5 and report.quarters[-1].start_s == 3600.0
    assert sum(q.dials for q in report.quarters) == report.dials
    assert sum(q.answers for q in report.quarters) == report.answers
    assert sum(q.abandons for q in report.quarters) == report.abandons
    assert "quarters" in report.as_dict() and set(report.as_dict()["quarters"][0]) == {  # type: ignore[index]
        "start_s", "answers", "abandons", "dials"}


class Listening(PolicyPacer):
    """Predictive, writing down what it is told of each dial."""

    def __init__(self) -> None:
        super().__init__(PacingSettings(mode="predictive"))
        self.placed: list[tuple[float, DialFeatures]] = []
        self.ended: list[tuple[float, DialFeatures, bool]] = []
        self.next_seen: list[tuple[float, str]] = []

    def on_placed(self, now: float, call: int, features: DialFeatures) -> None:
        self.placed.append((now, features))

    def on_outcome(self, now: float, call: int, features: DialFeatures, live: bool, machine: bool) -> None:
        self.ended.append((now, features, live))

    def decide(self, floor) -> int:  # type: ignore[no-untyped-def]
        assert set(floor.features) == set(floor.ringing)
        self.next_seen.append((floor.now, floor.next_features(2)[1].category))
        return super().decide(floor)


def test_a_dial_aware_pacer_hears_each_dial_and_sees_the_strategy_switch_at_once() -> None:
    plan = strategy_plan([(0.0, "cold"), (1800.0, "callback")], {"cold": 0.1, "callback": 0.4}, start_hour=12.75)
    pacer = Listening()
    report = simulate(World(talk_mean_s=60.0), 5, pacer, hours=1.0, seed=3, plan=plan)
    assert len(pacer.placed) == report.dials and len(pacer.ended) > 0.9 * report.dials
    assert sum(live for _, _, live in pacer.ended) == report.answers
    assert all(f.category == ("cold" if t < 1800 else "callback") for t, f in pacer.placed)
    assert {f.local_hour for t, f in pacer.placed if t < 900} == {12}
    assert {f.local_hour for t, f in pacer.placed if t >= 900} == {13}
    callbacks = [f for _, f in pacer.placed if f.category == "callback"]
    assert callbacks and callbacks[0].answered_before == 1
    seen_after = [c for t, c in pacer.next_seen if t >= 1800.0]
    assert seen_after and set(seen_after) == {"callback"}
    assert plan.switches() == ((1800.0, True),)
    assert profile_plan([(0, 0.35), (2, 0.1)]).switches() == ((7200.0, False),)


def test_a_plan_refuses_what_cannot_be_dialed() -> None:
    with pytest.raises(DialPlanError, match="within"):
        profile_plan([(0, 0.35), (2, 1.5)])
    with pytest.raises(DialPlanError, match="starts at 0"):
        profile_plan([(1, 0.35)])
    with pytest.raises(DialPlanError, match="in order"):
        profile_plan([(0, 0.35), (3, 0.1), (2, 0.2)])
    with pytest.raises(DialPlanError, match="follow_up"):
        strategy_plan([(0.0, "cold"), (60.0, "follow_up")], {"cold": 0.1})


@pytest.mark.parametrize("law", ["lognormal", "gamma", "exponential"])
def test_talk_laws_keep_the_mean_and_gamma_the_lognormal_spread(law: str) -> None:
    world = World(talk_mean_s=180.0, talk_distribution=law)  # type: ignore[arg-type]
    talk = draw_callees(world, np.random.default_rng(0), 200_000).talk_s
    assert talk.mean() == pytest.approx(180.0, rel=0.02)
    cv = {"lognormal": np.sqrt(np.expm1(0.64)), "gamma": np.sqrt(np.expm1(0.64)), "exponential": 1.0}[law]
    assert talk.std() / talk.mean() == pytest.approx(cv, rel=0.05)
    with pytest.raises(WorldError, match="talk_distribution"):
        World(talk_distribution="weibull")  # type: ignore[arg-type]


def test_given_counts_leave_a_24_hour_window_as_the_clock_passes_their_hours() -> None:
    history = given_history(86400.0, answers=1000, abandons=30, day_s=8 * 3600.0)
    assert history.counts(0.0) == (1000, 30)
    assert history.counts(4 * 3600.0)[0] == pytest.approx(500, abs=1)
    assert history.counts(8 * 3600.0) == (0, 0)
    month = given_history(30 * 86400.0, answers=3000, abandons=60, day_s=8 * 3600.0)
    assert month.counts(0.0) == (3000, 60) and month.counts(8 * 3600.0)[0] == pytest.approx(2900, abs=1)
    with pytest.raises(ValueError, match="abandons"):
        given_history(86400.0, answers=10, abandons=20, day_s=3600.0)


def test_yesterday_simulated_enters_today_window_by_its_quarters() -> None:
    yesterday = quarters_of(1800.0, [10.0, 950.0], [100.0, 1000.0, 1700.0], [1000.0])
    assert [(q.answers, q.abandons, q.dials) for q in yesterday] == [(1, 0, 1), (2, 1, 1)]
    history = history_after(86400.0, [yesterday])
    assert history.counts(0.0) == (3, 1) and history.counts(900.0) == (2, 1) and history.counts(1800.0) == (0, 0)


def test_a_window_full_from_yesterday_holds_today_back() -> None:
    world = World(answer_rate=0.3, talk_mean_s=60.0)
    clean = simulate(world, 10, predictive(), hours=1.0, seed=5)
    full = simulate(world, 10, predictive(), hours=1.0, seed=5,
                    history=given_history(86400.0, answers=2000, abandons=66, day_s=8 * 3600.0))
    # over the cap from yesterday (3.3 %): today dials progressive until enough of it has left the window
    assert full.abandons < clean.abandons and full.occupancy < clean.occupancy
    assert full.window_abandon_rate == pytest.approx((66 * 7 / 8 + full.abandons) / (2000 * 7 / 8 + full.answers),
                                                     abs=0.002)
    assert clean.window_abandon_rate == clean.abandon_rate


def test_what_stays_in_a_rolling_window_is_today_and_the_earlier_calls_not_yet_gone() -> None:
    floor = DayFloor(5)
    floor.history = given_history(86400.0, answers=800, abandons=24, day_s=8 * 3600.0)
    floor.answers, floor.abandons = 50, 2
    assert floor.window_counts() == (850, 26)
    assert floor.window_counts_staying(4 * 3600.0)[0] == pytest.approx(450, abs=1)
    assert floor.window_counts_staying(8 * 3600.0) == (50, 2)     # yesterday has left by tonight
