from dataclasses import replace

import pytest

from pacing.mixed_answers import checkpoints, law, safe_prefix
from pacing.policies import PacingSettings, calls_to_place
from pacing.pool import Member, Pool, ShareMeter, call_order, plan
from pacing.snapshot import Estimates, Snapshot

PREDICTIVE = PacingSettings(mode="predictive", warmup_answers=0)
PROGRESSIVE = PacingSettings(mode="progressive")


def member(name: str, share: float, answer: float = 0.3, ringing: tuple[float, ...] = (), waiting: int = 0,
           settings: PacingSettings = PREDICTIVE, **kw: object) -> Member:
    est = Estimates(answer_rate=answer, samples=500, mean_talk_s=120.0)
    return Member(name, share, Snapshot(0, (), ringing, waiting, est), settings, **kw)


@pytest.mark.parametrize("settings", [PREDICTIVE, PROGRESSIVE, PacingSettings(mode="ratio", ratio=2.0),
                                      replace(PREDICTIVE, busy_credit=False)])
def test_reserved_operators_are_never_dialed_for(settings):
    members = [member("a", 70, settings=settings), member("b", 30, settings=settings)]
    assert sum(plan(Pool(free_operators=3, reserved=3), members, {}).values()) == 0
    busy = tuple(float(x) for x in range(5, 300, 30))
    # the reserve is invisible to the planner: 8 free with 3 reserved dials as 5 free without a reserve
    assert plan(Pool(8, busy, reserved=3), members, {}) == plan(Pool(5, busy), members, {})
    # the reserve short: the next operators to free refill it, so nobody is dialed for them
    assert sum(plan(Pool(1, busy, reserved=3), members, {}).values()) == 0


def test_progressive_pool_places_one_call_per_unreserved_free_operator_not_covered():
    members = [member("a", 70, ringing=(3.0,), settings=PROGRESSIVE), member("b", 30, settings=PROGRESSIVE)]
    assert sum(plan(Pool(free_operators=6, reserved=2), members, {}).values()) == 3


def test_calls_follow_shares_in_handle_time_not_in_dials():
    # b's callees answer twice as often: for equal shares a places about twice b's calls
    a, b = member("a", 50, answer=0.2), member("b", 50, answer=0.4)
    order = call_order([a, b], {}, 300)
    assert order.count(0) == pytest.approx(200, abs=2)


def test_the_campaign_behind_its_share_gets_the_calls():
    a, b = member("a", 70), member("b", 30)
    counts = plan(Pool(free_operators=4), [a, b], {"a": 1000.0, "b": 5000.0})
    assert counts["a"] >= 4 and counts["b"] == 0


def test_unused_share_flows_to_the_others():
    a, b = member("a", 30), member("b", 70, has_work=False)
    counts = plan(Pool(free_operators=10), [a, b], {"a": 0.0, "b": 0.0})
    assert counts["b"] == 0 and counts["a"] >= 10


def test_priority_decides_when_capacity_is_short():
    a, b = member("a", 50, settings=PROGRESSIVE), member("b", 50, settings=PROGRESSIVE, priority=1)
    assert plan(Pool(free_operators=1), [a, b], {"a": 500.0, "b": 500.0}) == {"a": 0, "b": 1}


def test_one_progressive_member_makes_the_pool_progressive():
    a, b = member("a", 50), member("b", 50, settings=PROGRESSIVE)
    assert sum(plan(Pool(free_operators=5), [a, b], {}).values()) == 5
    assert sum(plan(Pool(free_operators=5), [a, member("b", 50)], {}).values()) > 5


@pytest.mark.parametrize("settings", [PREDICTIVE, replace(PREDICTIVE, busy_credit=False)])
def test_a_lone_member_dials_like_the_single_campaign_policy(settings):
    busy = tuple(float(x) for x in range(5, 200, 40))
    for free, ringing in [(3, ()), (5, (1.0, 4.0, 8.0)), (10, tuple(float(i) for i in range(12))), (20, ())]:
        m = member("a", 1, ringing=ringing, settings=settings)
        single = calls_to_place(Snapshot(free, busy, ringing, 0, m.snapshot.estimates), settings)
        pooled = plan(Pool(free, busy), [m], {})["a"]
        assert abs(pooled - single) <= max(1, 0.1 * single)


def test_lower_alpha_of_any_member_in_the_mix_binds_the_pool():
    loose = [member("a", 50, alpha=0.05), member("b", 50, alpha=0.05)]
    strict = [member("a", 50, alpha=0.05), member("b", 50, alpha=0.005)]
    pool = Pool(free_operators=10)
    assert sum(plan(pool, strict, {}).values()) < sum(plan(pool, loose, {}).values())


def test_calls_of_a_campaign_that_answers_more_count_for_more():
    pool = Pool(free_operators=10)
    low = sum(plan(pool, [member("a", 50, answer=0.2), member("b", 50, answer=0.2)], {}).values())
    high = sum(plan(pool, [member("a", 50, answer=0.2), member("b", 50, answer=0.5)], {}).values())
    assert high < low


def test_exact_and_normal_laws_agree_on_a_mid_sized_pool():
    ests = [Estimates(answer_rate=0.2), Estimates(answer_rate=0.35, mean_ring_to_answer_s=6.0)]
    taus = checkpoints(ests)
    laws = [law(e, taus) for e in ests]
    import numpy as np
    ring = [laws[0].ringing([1.0 * i for i in range(30)]), laws[1].ringing([0.5 * i for i in range(20)])]
    base = np.concatenate([r[0] for r in ring])
    new = np.array([laws[i % 2].new_p for i in range(60)])
    ans = np.array([laws[i % 2].new_answer for i in range(60)])
    import pacing.mixed_answers as mixed
    exact = safe_prefix(base, 0, ring[0][1] + ring[1][1], 15, new, ans, 0.03)
    old, mixed.EXACT_TERMS = mixed.EXACT_TERMS, 0
    try:
        normal = safe_prefix(base, 0, ring[0][1] + ring[1][1], 15, new, ans, 0.03)
    finally:
        mixed.EXACT_TERMS = old
    assert abs(exact - normal) <= 2 and exact > 0


def test_share_meter_forgives_a_returning_member_all_but_the_catch_up():
    meter = ShareMeter(catch_up_s=600.0)
    meter.used(0.0, {"a": 50, "b": 50})
    meter.used(0.5, {"a": 50})                  # b has no leads for a while
    meter.add(1.0, "a", 10_000.0)
    assert meter.used(2.0, {"a": 50}).get("b", 0.0) == 0.0  # not lifted while it has no work
    used = meter.used(3.0, {"a": 50, "b": 50})             # b is back
    assert used["b"] == pytest.approx(5_000.0 - 600.0)


def test_share_meter_never_forgives_a_member_that_had_work_all_along():
    meter = ShareMeter(catch_up_s=600.0)
    meter.used(0.0, {"a": 70, "b": 30})
    meter.add(1.0, "b", 5_000.0)                           # a lags far behind its 70 %
    assert meter.used(2.0, {"a": 70, "b": 30}).get("a", 0.0) == 0.0


def test_pool_refuses_negative_counts():
    with pytest.raises(ValueError, match="reserved"):
        Pool(free_operators=2, reserved=-1)


def test_a_member_with_an_unsettled_handle_time_stops_the_pool_crediting_busy_operators():
    busy = tuple(100.0 + 3 * k for k in range(20))
    settled = [member("a", 50), member("b", 50)]
    unsettled = [member("a", 50), member("b", 50)]
    unsettled[1] = replace(unsettled[1], snapshot=replace(
        unsettled[1].snapshot, estimates=replace(unsettled[1].snapshot.estimates, handle_settled=False)))
    free_only = [member("a", 50, settings=replace(PREDICTIVE, busy_credit=False)),
                 member("b", 50, settings=replace(PREDICTIVE, busy_credit=False))]
    credited = sum(plan(Pool(2, busy), settled, {}).values())
    assert credited > sum(plan(Pool(2, busy), free_only, {}).values())
    assert plan(Pool(2, busy), unsettled, {}) == plan(Pool(2, busy), free_only, {})
