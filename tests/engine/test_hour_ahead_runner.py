"""The engine guards max_hour_abandon as the simulation does: the hours that end over the next minutes too."""

from __future__ import annotations

from dataclasses import replace

from dialer.ledger import AbandonLedger
from dialer.runner import CampaignRunner
from lists.campaigns import Campaign
from pacing.snapshot import Estimates, Snapshot


def _runner(ledger: AbandonLedger) -> CampaignRunner:
    campaign = Campaign(id=1, name="c", state="running", mode="predictive", pacing={"max_hour_abandon": 0.03},
                        channel_template="Local/{number}@out", caller_id="100", timezone="UTC",
                        default_region="GB", ring_timeout_s=25, safe_harbor_s=2.0)
    return CampaignRunner(campaign, snapshot=lambda: None, dial=lambda *a: None, tick_s=0.25,  # type: ignore[arg-type]
                          can_dial=lambda: True, ledger=ledger)


def test_an_hour_whose_old_answers_are_leaving_sends_the_campaign_to_progressive_before_it_passes() -> None:
    # 335 answers over the last hour, most of them early; 9 abandons in its last 10 minutes: 2.7 % now, room
    # for one more; 20 minutes on, the same 9 abandons in far fewer answers
    ledger = AbandonLedger(24 * 3600.0)
    now = 10_000.0
    for k in range(300):
        ledger.add(now - 3600.0 + 2400.0 * k / 300, abandoned=False)
    for k in range(35):
        ledger.add(now - 600.0 + 600.0 * k / 35, abandoned=k % 4 == 0)
    assert ledger.counts_since(now - 3600.0) == (335, 9)
    assert _runner(ledger).effective_settings(now).mode == "progressive"


def test_the_hour_keeps_room_for_the_answers_of_the_calls_in_flight() -> None:
    # an hour of 1,800 answers with 48 abandons (6 of room under 3 %), spread evenly so nothing tightens ahead
    ledger = AbandonLedger(24 * 3600.0)
    now = 100_000.0
    for k in range(1800):
        ledger.add(now - 3600.0 + 2.0 * k, abandoned=k % 37 == 0 and k < 37 * 48)
    assert ledger.counts_since(now - 3600.0) == (1800, 48)
    few = Snapshot(free_operators=0, busy_elapsed_s=(60.0,) * 100, ringing_elapsed_s=(3.0,) * 10,
                   estimates=Estimates(answer_rate=0.3))
    many = replace(few, ringing_elapsed_s=(3.0,) * 30)       # 9 live answers to come: more than the room
    assert _runner(ledger).effective_settings(now, few).mode == "predictive"
    assert _runner(ledger).effective_settings(now, many).mode == "progressive"
