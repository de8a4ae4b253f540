import pytest

from pacing.abandonment import AbandonmentController, recent_aim


def test_falls_back_to_progressive_before_the_cap_is_reached():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    d = c.update(0.0, 1000, 20)
    assert not d.fallback                      # 2.0 %: room for 10 more
    d = c.update(1.0, 1000, 30)                # 3.0 %: the next abandon would pass the cap
    assert d.fallback
    assert d.rate == pytest.approx(0.030)


def test_leaves_the_fall_back_once_there_is_room_again():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    assert c.update(0.0, 1000, 30).fallback
    assert c.update(60.0, 1030, 30).fallback is True      # still tight
    assert c.update(120.0, 2000, 29).fallback is False    # 1.45 %


def test_alpha_rises_while_abandonment_runs_below_the_setpoint():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    first = c.update(0.0, 100, 0).alpha
    alpha = first
    for minute in range(1, 30):
        alpha = c.update(minute * 60.0, 100 + 50 * minute, 0).alpha
    assert alpha > 2 * first


def test_alpha_falls_while_abandonment_runs_above_the_setpoint():
    c = AbandonmentController(setpoint=0.025, cap=0.03, margin_abandons=0.0)
    first = c.update(0.0, 10_000, 250).alpha
    alpha = first
    for minute in range(1, 30):
        alpha = c.update(minute * 60.0, 10_000 + 100 * minute, 250 + 5 * minute).alpha   # 5 % recently
    assert alpha < first / 2


def test_setpoint_must_sit_under_the_cap():
    with pytest.raises(ValueError, match="setpoint"):
        AbandonmentController(setpoint=0.04, cap=0.03)


def test_alpha_shrinks_as_the_room_under_the_cap_runs_out():
    roomy, tight = AbandonmentController(), AbandonmentController()
    a = roomy.update(0.0, 2000, 40).alpha          # 2.0 %: 20 abandons of room
    b = tight.update(0.0, 2000, 58).alpha          # 2.9 %: 2 abandons of room
    assert not tight.fallback and b < a / 2


def test_no_wind_up_while_falling_back():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    for minute in range(30):                       # on the setpoint: α settles
        c.update(minute * 60.0, 2000 + 40 * minute, 50 + minute)
    before = c.log_alpha
    c.update(1800.0, 3200, 96)                     # a burst: 3.0 %, fall back
    assert c.fallback
    for minute in range(31, 60):                   # progressive: answers, no abandons, still near the cap
        c.update(minute * 60.0, 3200 + 2 * (minute - 30), 96)
    assert c.log_alpha <= before + 1e-9


def test_aims_below_the_cap_early_in_the_window():
    # 150 answers, 3 abandons (2 %, under the 2.5 % setpoint) but only 1.5 abandons of room: α must stay far
    # below the setpoint (the room grows a little with the answers, and α with it)
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    alpha = c.update(0.0, 150, 3).alpha
    for second in range(1, 600):
        alpha = max(alpha, c.update(float(second), 150 + second // 60, 3).alpha)
    assert alpha < 0.25 * 0.025


def _quiet_half_hour(c: AbandonmentController, category: str, start: float, answers: int) -> float:
    alpha = 0.0
    for minute in range(1, 31):
        answers += 50
        alpha = c.update(start + minute * 60.0, answers, 0, category=category).alpha
    return alpha


def test_a_category_dialed_carefully_does_not_lend_its_wound_up_alpha_to_the_next():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    start = c.update(0.0, 100, 0, category="callback").alpha
    callbacks = _quiet_half_hour(c, "callback", 0.0, 100)
    assert callbacks > 2 * start                              # no abandons among callbacks: α wound up
    follow_ups = c.update(1860.0, 1700, 0, category="follow_up").alpha
    assert follow_ups < 1.1 * 0.025 < callbacks           # the next category starts afresh, at the setpoint
    assert c.update(1861.0, 1700, 0, category="callback").alpha == pytest.approx(callbacks, rel=0.05)


def test_without_categories_alpha_is_one():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    wound = _quiet_half_hour(c, "", 0.0, 100)
    assert c.update(1860.0, 1700, 0).alpha == pytest.approx(wound, rel=0.05)


def test_a_window_behind_the_bounds_goal_may_run_the_rest_at_the_bounds_target():
    # The window holds 1,000 answers at 0.5 %; 960 more to come today. The bound lets the rest run near the
    # cap (its goal, the rate the window would end at, is 1.7 %); the floor then abandons 2.7 % of its answers.
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    c.update(0.0, 1000, 5, answers_to_come=960.0)
    alpha = {}
    for minute in range(1, 181):
        answers = 1000 + 2 * minute
        alpha[minute] = c.update(minute * 60.0, answers, 5 + (answers - 1000) // 37,
                                 answers_to_come=2.0 * (480 - minute)).alpha
    assert c.bound is not None and c.bound < 0.018
    assert c.rest_target is not None and c.rest_target > 0.029
    # the recent rate (2.2-2.6 %) is under what the rest may run at: alpha is not pulled down towards the
    # window-end goal (at most 1.2 x 1.7 % took it from 0.15 to 0.13 over this hour)
    assert alpha[180] >= alpha[120]


def test_the_recent_aim_is_the_bounds_target_for_the_rest_only_while_the_window_is_behind():
    assert recent_aim(0.0186, 0.010, 0.0297) == pytest.approx(0.0297)     # behind: the rest at the bound's target
    assert recent_aim(0.0186, 0.010) == pytest.approx(1.2 * 0.0186)       # fixed setpoint: the one-step correction
    assert recent_aim(0.024, 0.030, 0.028) == pytest.approx(0.018)        # running hot: the correction stands
