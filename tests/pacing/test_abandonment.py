import pytest

from pacing.abandonment import AbandonmentController


def test_falls_back_to_progressive_before_the_cap_is_reached():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    d = c.update(0.0, 1000, 20)
    assert not d.fallback                      # 2.0 %: room for 10 more
    d = c.update(1.0, 1000, 29)                # 2.9 %: one more would breach 3 %
    assert d.fallback
    assert d.rate == pytest.approx(0.029)


def test_leaves_the_fall_back_once_there_is_room_again():
    c = AbandonmentController(setpoint=0.025, cap=0.03)
    assert c.update(0.0, 1000, 29).fallback
    assert c.update(60.0, 1050, 29).fallback is True      # still tight
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
