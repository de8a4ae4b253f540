import json

import pytest

from dialer.sim.whatif import WhatIf, parse_group
from pacing.group_simulation import GroupCampaign, simulate_group
from pacing.policies import PacingSettings
from pacing.simulation import PolicyPacer, simulate
from pacing.world import World

A = GroupCampaign("A", World(answer_rate=0.2, talk_mean_s=120.0), share=70)
B = GroupCampaign("B", World(answer_rate=0.35, talk_mean_s=120.0), share=30)


def test_shares_hold_with_different_answer_rates_and_the_pool_beats_split_operators():
    pool = simulate_group([A, B], 20, hours=2.0, seed=2)
    for c in pool.campaigns:
        assert c.share == pytest.approx(c.target_share, rel=0.05), c
        assert c.abandon_rate <= 0.03
    split = [simulate(c.world, n, PolicyPacer(PacingSettings(mode="predictive")), hours=2.0, seed=2)
             for c, n in ((A, 14), (B, 6))]
    split_occupancy = (14 * split[0].occupancy + 6 * split[1].occupancy) / 20
    assert pool.occupancy > split_occupancy


def test_unused_share_flows_to_the_campaign_with_work():
    both = simulate_group([A, B], 10, hours=1.0, seed=2)
    idle_b = simulate_group([A, GroupCampaign("B", B.world, share=30, work_hours=(0.0, 0.0))], 10, hours=1.0, seed=2)
    assert idle_b.campaigns[1].dials == 0 and idle_b.campaigns[0].share == 1.0
    assert idle_b.occupancy >= 0.9 * both.occupancy


def test_reserved_operators_are_kept_out_of_the_dialing():
    # Answers cannot take the reserved operators: a planner that counted them would abandon its way past the cap.
    report = simulate_group([A, B], 12, hours=1.0, seed=3, reserved=4)
    assert all(c.abandon_rate <= 0.03 for c in report.campaigns)
    assert sum(c.answers for c in report.campaigns) > 100


def test_group_spec_names_the_campaign_and_key_in_errors():
    question = WhatIf(10, 0.3, 120.0, 10.0, 1.0, "predictive")
    campaigns = parse_group("A:share=70,answer=0.2;B:share=30,answer=0.35,talk=90,priority=1,work=0-4", question)
    assert [(c.name, c.share, c.world.answer_rate, c.world.talk_mean_s, c.priority, c.work_hours)
            for c in campaigns] == [("A", 70.0, 0.2, 120.0, 0, None), ("B", 30.0, 0.35, 90.0, 1, (0.0, 4.0))]
    with pytest.raises(ValueError, match="campaign B: 'anser="):
        parse_group("A:share=1;B:anser=0.3", question)
    with pytest.raises(ValueError, match="campaign A"):
        parse_group("A:answer=1.5", question)


def test_simulate_command_prints_the_pool_and_each_campaign_and_refuses_a_bad_spec():
    from typer.testing import CliRunner

    import cli

    runner = CliRunner()
    ok = runner.invoke(cli.app, ["simulate", "--agents", "6", "--talk", "60", "--hours", "0.3", "--json",
                                 "--group", "A:share=70,answer=0.2;B:share=30,answer=0.35", "--reserved", "1"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["reserved"] == 1 and [c["name"] for c in report["campaigns"]] == ["A", "B"]
    bad = runner.invoke(cli.app, ["simulate", "--agents", "6", "--talk", "60", "--group", "A:share=-1"])
    assert bad.exit_code != 0 and "campaign A" in bad.output
