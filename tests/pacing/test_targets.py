import math

import pytest

from dialer.tuning import parse_assignments, validate_pacing
from pacing.policies import PacingSettings, PacingSettingsError
from pacing.simulation import PolicyPacer, simulate
from pacing.targets import TargetController
from pacing.world import World

WORLD = World(answer_rate=0.2, talk_mean_s=60.0)     # predictive leaves progressive far behind here


@pytest.mark.parametrize(("optimize", "target", "figure"), [
    ("wait", 60.0, "mean_wait_s"),
    ("busy", 0.5, "occupancy"),
])
def test_each_target_mode_reaches_its_target_without_passing_the_cap(optimize, target, figure):
    settings = PacingSettings(mode="predictive", optimize=optimize, optimize_target=target)
    report = simulate(WORLD, 20, PolicyPacer(settings), hours=2.0, seed=1)
    aim = settings.target_abandon if target is None else target
    assert getattr(report, figure) == pytest.approx(aim, rel=0.10)
    assert report.abandon_rate <= settings.abandon_cap


def test_the_abandonment_target_is_the_confidence_bounds_and_ends_near_the_cap_without_passing_it():
    report = simulate(WORLD, 20, PolicyPacer(PacingSettings(mode="predictive")), hours=2.0, seed=1)
    assert 0.02 <= report.abandon_rate <= 0.03


def test_an_abandonment_target_set_by_hand_is_the_most_the_confidence_bound_may_aim_at():
    own = TargetController(PacingSettings(mode="predictive", optimize="abandon", optimize_target=0.02)).abandonment
    default = TargetController(PacingSettings(mode="predictive")).abandonment
    assert default.window_setpoint(0, 0, 15_000) > 0.025         # a large window allows more than 2.5 %
    assert own.window_setpoint(0, 0, 15_000) == 0.02
    assert own.window_setpoint(0, 0, 700) < 0.02                  # and a small one less


def test_a_wait_target_never_dials_harder_than_the_abandonment_setpoint_allows():
    c = TargetController(PacingSettings(mode="predictive", optimize="wait", optimize_target=5.0))
    answers = 0
    for t in range(1, 3600):
        answers += t % 3 == 0
        d = c.update(float(t), answers, 0, free=10, busy=10)      # operators wait far longer than 5 s
        assert d.alpha <= c.abandonment.update(float(t), answers, 0).alpha * (1 + 1e-9)
    assert c.pace == 1.0 and c.measured is not None and c.measured > 5.0


def test_a_busy_target_below_what_predictive_gives_slows_dialing_toward_progressive():
    c = TargetController(PacingSettings(mode="predictive", optimize="busy", optimize_target=0.5))
    for t in range(1, 3600):
        c.update(float(t), t // 3, 0, free=1, busy=19)             # 95 % busy: far above the target
    assert c.pace < 0.1
    placed = sum(c.throttle(3600.0 + 0.25 * k, progressive=1, most=10, wanted=lambda: 6) for k in range(40))
    assert 40 <= placed <= 50                                      # progressive's call each time, few beyond


def test_fallback_near_the_cap_binds_whatever_the_target():
    c = TargetController(PacingSettings(mode="predictive", optimize="busy", optimize_target=0.9))
    assert c.update(10.0, 100, 3, free=5, busy=5).fallback


def test_settings_name_the_target_setting_when_wrong():
    with pytest.raises(PacingSettingsError, match="optimize_target"):
        PacingSettings(mode="predictive", optimize="wait")
    with pytest.raises(PacingSettingsError, match="optimize=busy"):
        PacingSettings(optimize="busy", optimize_target=1.5)
    with pytest.raises(PacingSettingsError, match="optimize must be one of"):
        PacingSettings(optimize="speed")
    with pytest.raises(PacingSettingsError, match="abandon_cap"):
        PacingSettings(optimize="abandon", optimize_target=0.05)


def test_live_tuning_accepts_the_target_and_clears_it_with_none():
    changes = parse_assignments(["optimize=wait", "optimize_target=12"])
    assert changes == {"optimize": "wait", "optimize_target": 12.0}
    validate_pacing("predictive", changes)
    assert parse_assignments(["optimize_target=none"]) == {"optimize_target": None}
    with pytest.raises(ValueError, match="optimize_target"):
        validate_pacing("predictive", {"optimize": "busy"})
    assert math.isclose(PacingSettings(**changes).optimize_target or 0.0, 12.0)
