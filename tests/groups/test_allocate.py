"""The group loop's allocation: the pool planner, bounded by the operators who work each campaign."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from dialer.groups.runner import allocate
from pacing.policies import PacingSettings
from pacing.pool import Member, Pool, plan
from pacing.pool_target import paced_plan
from pacing.snapshot import Estimates, Snapshot
from pacing.targets import TargetController

PROGRESSIVE = PacingSettings(mode="progressive")


def member(name: str, share: float, own_free: int, ringing: int = 0) -> Member:
    return Member(name, share, Snapshot(free_operators=own_free, ringing_elapsed_s=(1.0,) * ringing), PROGRESSIVE)


def test_a_campaign_worked_by_one_operator_gets_one_call_and_the_rest_flows_to_the_other() -> None:
    # two free operators, each working one campaign only; sales is far behind its share
    members = [member("sales", 70, own_free=1), member("survey", 30, own_free=1)]
    used = {"survey": 1000.0}
    assert plan(Pool(free_operators=2), members, used) == {"sales": 2, "survey": 0}   # one supply for the pool
    assert allocate(Pool(free_operators=2), members, used) == {"sales": 1, "survey": 1}


def test_no_call_when_the_only_operator_of_a_campaign_is_covered_already() -> None:
    members = [member("sales", 100, own_free=1, ringing=1), member("survey", 1, own_free=0)]
    assert allocate(Pool(free_operators=2), members, {}) == {"sales": 0, "survey": 0}


@given(free=st.integers(0, 8), ringing=st.lists(st.integers(0, 3), min_size=2, max_size=3),
       shares=st.lists(st.floats(0.1, 100), min_size=3, max_size=3), used=st.floats(0, 1000))
def test_when_every_operator_works_every_campaign_the_plan_is_unchanged(
        free: int, ringing: list[int], shares: list[float], used: float) -> None:
    members = [member(f"c{i}", shares[i], own_free=free, ringing=r) for i, r in enumerate(ringing)]
    pool = Pool(free_operators=free)
    assert allocate(pool, members, {"c0": used}) == plan(pool, members, {"c0": used})


def test_a_pool_target_below_full_pace_holds_the_pool_near_progressive() -> None:
    predictive = PacingSettings(mode="predictive", warmup_answers=0)
    estimates = Estimates(answer_rate=0.2, samples=500)
    members = [Member(n, 1, Snapshot(free_operators=5, estimates=estimates), predictive) for n in ("a", "b")]
    careful = [replace(m, settings=PROGRESSIVE) for m in members]
    pool = Pool(free_operators=5)
    full = plan(pool, members, {})
    assert sum(full.values()) > 5                       # predictive dials beyond one call per free operator
    target = TargetController(replace(predictive, optimize="busy", optimize_target=0.5))
    assert paced_plan(0.0, pool, members, careful, {}, target) == full      # pace 1: the plan as it is
    target.pace = 0.01
    assert sum(paced_plan(0.0, pool, members, careful, {}, target).values()) == 5   # no credit yet: progressive
