"""The setpoint from a confidence bound on the window's rate when it ends."""

from __future__ import annotations

import numpy as np
import pytest

from pacing.abandonment import AbandonmentController
from pacing.window_bound import DISPERSION, RISK, confident_target

CAP = 0.03


def over_cap(target: float, answers: int, abandons: int, to_come: int, runs: int = 200_000) -> float:
    """Monte Carlo of the bound's own law: abandons to come, negative binomial of mean target × answers."""
    mean = target * to_come
    r = mean / (DISPERSION - 1.0)
    draws = np.random.default_rng(7).negative_binomial(r, 1.0 / DISPERSION, runs)
    return float(((abandons + draws) > CAP * (answers + to_come)).mean())


def test_a_large_window_gets_a_target_near_the_cap_and_a_small_one_far_under_it() -> None:
    small = confident_target(CAP, 0, 0, 700)          # 5 operators, a day
    large = confident_target(CAP, 0, 0, 15_000)       # 100 operators, a day
    assert small < 0.02 < 0.025 < large < CAP


@pytest.mark.parametrize(("answers", "abandons", "to_come"), [(0, 0, 700), (0, 0, 15_000), (400, 8, 600)])
def test_the_target_is_the_largest_with_under_one_percent_over_the_cap(answers: int, abandons: int,
                                                                         to_come: int) -> None:
    target = confident_target(CAP, answers, abandons, to_come)
    assert over_cap(target, answers, abandons, to_come) < RISK
    assert over_cap(target * 1.15, answers, abandons, to_come) > RISK


def test_abandons_so_far_leave_less_room_and_a_spent_window_none() -> None:
    assert confident_target(CAP, 500, 15, 500) < confident_target(CAP, 500, 5, 500)
    assert confident_target(CAP, 1000, 40, 300) == 0.0
    assert confident_target(CAP, 1000, 10, 0) == CAP     # nothing to come: the window is what it is


def test_the_controller_takes_its_setpoint_from_the_bound_when_the_window_ahead_is_known() -> None:
    controller = AbandonmentController(setpoint=0.025, cap=CAP)
    assert controller.window_setpoint(0, 0, None) == 0.025
    assert controller.window_setpoint(0, 0, 15_000) > 0.025
    assert controller.window_setpoint(0, 0, 700) < 0.02
    # half the day gone with little abandoned: the rest may run faster than the cap, the window ends under it
    assert controller.window_setpoint(3000, 45, 3000) > 0.02


def test_calls_that_leave_a_rolling_window_before_it_ends_give_it_no_room() -> None:
    # a 24-hour window starting with yesterday at 3 %: 3000 answers, 90 abandons, all gone by tonight
    yesterday = AbandonmentController(setpoint=0.025, cap=CAP)
    clean = AbandonmentController(setpoint=0.025, cap=CAP)
    yesterday.update(0.0, 3000, 80, answers_to_come=700, staying=(0, 0))
    clean.update(0.0, 0, 0, answers_to_come=700)
    assert yesterday.bound == pytest.approx(clean.bound)
    assert yesterday.bound is not None and yesterday.bound < 0.02
    # what stays until the window ends counts: today's abandons so far leave less room
    spent = AbandonmentController(setpoint=0.025, cap=CAP)
    spent.update(0.0, 3000, 80, answers_to_come=700, staying=(300, 12))
    assert spent.bound == pytest.approx(AbandonmentController(setpoint=0.025, cap=CAP).window_setpoint(300, 12, 700))


def test_a_decision_gambles_only_the_answers_before_the_next_can_correct_it() -> None:
    # a day of 1,000 answers: dialed as one draw the whole day allows 1.7 %; the first 40 minutes' 80 answers
    # are all a decision risks, the rest is aimed again as the counts come in
    whole = confident_target(CAP, 0, 0, 1000)
    reach = confident_target(CAP, 0, 0, 1000, answers_in_reach=80)
    assert whole < 0.018 and reach > 0.024
    assert confident_target(CAP, 400, 8, 600, answers_in_reach=600) == confident_target(CAP, 400, 8, 600)
    assert confident_target(CAP, 1000, 40, 300, answers_in_reach=50) == 0.0


def closed_loop_over_cap(answers: int, steps: int, reach_steps: int, runs: int) -> tuple[float, float]:
    """Days dialed stretch by stretch, each at the target the bound gives with the counts so far, abandons drawn
    from the bound's own law: (share of days over the cap, mean rate)."""
    rng = np.random.default_rng(11)
    per = answers / steps
    over, rates = 0, []
    for _ in range(runs):
        done = abandons = 0.0
        for _ in range(steps):
            target = confident_target(CAP, done, abandons, answers - done, answers_in_reach=per * reach_steps)
            mean = target * per
            abandons += rng.negative_binomial(mean / (DISPERSION - 1.0), 1.0 / DISPERSION) if mean > 0 else 0
            done += per
        over += abandons > CAP * done
        rates.append(abandons / done)
    return over / runs, float(np.mean(rates))


def test_a_window_aimed_again_at_every_stretch_ends_over_the_cap_on_under_one_day_in_a_hundred() -> None:
    # 12 stretches of 40 minutes in an 8-hour day of 1,000 answers, each gambling its own answers
    over, rate = closed_loop_over_cap(1000, 12, 1, 400)
    assert over <= RISK
    assert rate > 0.022
