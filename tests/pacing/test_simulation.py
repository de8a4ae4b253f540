import pytest

from pacing.baselines.omnidialer import OmniDialerPacer
from pacing.baselines.vicidial import VicidialAdapt
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer, simulate
from pacing.world import World


def test_predictive_keeps_abandonment_under_the_cap_and_beats_progressive():
    world = World(answer_rate=0.35, talk_mean_s=60.0)
    predictive = simulate(world, 10, PolicyPacer(PacingSettings(mode="predictive")), hours=1.5, seed=3)
    progressive = simulate(world, 10, PolicyPacer(PacingSettings(mode="progressive")), hours=1.5, seed=3)
    assert predictive.abandon_rate <= 0.03
    assert progressive.abandons == 0
    assert predictive.talk_minutes_per_operator_hour > progressive.talk_minutes_per_operator_hour


def test_same_seed_same_day():
    world = World(answer_rate=0.2, talk_mean_s=120.0)
    a = simulate(world, 5, PolicyPacer(PacingSettings(mode="progressive")), hours=0.5, seed=11)
    b = simulate(world, 5, PolicyPacer(PacingSettings(mode="progressive")), hours=0.5, seed=11)
    assert a == b


def test_preview_places_no_calls():
    r = simulate(World(), 3, PolicyPacer(PacingSettings(mode="preview")), hours=0.1, seed=0)
    assert r.dials == 0 and r.occupancy == 0


@pytest.mark.parametrize("pacer", [VicidialAdapt("ADAPT_HARD_LIMIT"), VicidialAdapt("ADAPT_TAPERED"),
                                   VicidialAdapt("ADAPT_AVERAGE"), OmniDialerPacer()])
def test_baselines_run_a_shift_and_keep_operators_talking(pacer):
    r = simulate(World(answer_rate=0.3, talk_mean_s=90.0), 5, pacer, hours=0.5, seed=2)
    assert r.answers > 20 and 0.2 < r.occupancy <= 1.0


def test_vicidial_tapered_raises_its_dial_level_when_agents_sit_ready():
    pacer = VicidialAdapt("ADAPT_TAPERED")      # in the morning TAPERED tolerates drops
    simulate(World(answer_rate=0.1, talk_mean_s=60.0), 10, pacer, hours=0.2, seed=1)
    assert pacer.level > 1.0


def test_world_refuses_impossible_shares():
    with pytest.raises(ValueError, match="answer_rate"):
        World(answer_rate=0.8, machine_rate=0.5)
