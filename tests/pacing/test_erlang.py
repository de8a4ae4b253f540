import math

import pytest

from pacing.erlang import ErlangInputError, erlang_a, erlang_b, erlang_c, erlang_c_metrics
from pacing.staffing import operators_for_list, operators_for_service_level


def test_erlang_c_matches_the_published_example():
    # 100 calls per 30 minutes, 180 s handle time, 14 operators, 20 s threshold
    m = erlang_c_metrics(100, 1800, 180, 14, 20)
    assert m.p_wait == pytest.approx(0.1741319, abs=5e-8)
    assert m.service_level == pytest.approx(0.8883500, abs=5e-8)
    assert m.asa_s == pytest.approx(7.8359, abs=5e-5)
    assert m.occupancy == pytest.approx(10 / 14)


def test_erlang_a_matches_the_published_example():
    # 14 operators, 10/3 calls per minute, handle 3 min, mean patience 5 min
    a = erlang_a(14, 10 / 3, 1 / 3, 1 / 5)
    assert a.p_wait == pytest.approx(0.145260, abs=5e-7)
    assert a.p_abandon == pytest.approx(0.013984, abs=5e-7)


def test_erlang_models_stay_finite_at_five_thousand_operators():
    assert 0 < erlang_b(5000, 4900.0) < 1
    assert 0 < erlang_c(5000, 4900.0) < 1
    a = erlang_a(5000, 4990 / 180, 1 / 180, 1 / 300)
    assert math.isfinite(a.p_abandon) and 0 < a.p_abandon < a.p_wait < 1


def test_erlang_a_stays_stable_when_load_exceeds_the_team():
    a = erlang_a(10, 2.0, 0.1, 0.05)       # 20 Erlangs on 10 operators: abandonment keeps it finite
    assert 0.4 < a.p_abandon < 1 and a.p_wait > 0.99


def test_unstable_erlang_c_says_everyone_waits():
    assert erlang_c(10, 12.0) == 1.0


def test_bad_staffing_input_names_the_problem():
    with pytest.raises(ErlangInputError, match="operators"):
        erlang_b(0, 1.0)
    with pytest.raises(ErlangInputError, match="service level"):
        operators_for_service_level(100, 180, 1.5, 20)


def test_staffing_finds_the_smallest_team_meeting_the_service_level():
    plan = operators_for_service_level(200, 180, 0.8, 20)    # 10 Erlangs
    assert plan.service_level >= 0.8
    smaller = erlang_c_metrics(200, 3600, 180, plan.operators - 1, 20)
    assert smaller.service_level < 0.8


def test_list_plan_scales_with_the_list():
    small = operators_for_list(10_000, 8, 0.2, 190)
    big = operators_for_list(40_000, 8, 0.2, 190)
    assert big.operators >= 4 * small.operators - 3
    assert small.answers == pytest.approx(2000)
