"""A ratio campaign is held under the abandonment cap as predictive is: a fixed ratio knows nothing of
abandons, and a ratio set too high abandoned 45 % of its answers (seen with ``mode=ratio ratio=3``)."""

from __future__ import annotations

from dialer.ledger import AbandonLedger
from dialer.runner import CampaignRunner
from lists.campaigns import Campaign


def _runner(ledger: AbandonLedger, mode: str = "ratio") -> CampaignRunner:
    campaign = Campaign(id=1, name="c", state="running", mode=mode, pacing={"ratio": 3.0},
                        channel_template="Local/{number}@out", caller_id="100", timezone="UTC",
                        default_region="GB", ring_timeout_s=25, safe_harbor_s=2.0)
    return CampaignRunner(campaign, snapshot=lambda: None, dial=lambda *a: None, tick_s=0.25,  # type: ignore[arg-type]
                          can_dial=lambda: True, ledger=ledger)


def _answers(ledger: AbandonLedger, now: float, answered: int, abandoned: int) -> None:
    for k in range(answered):
        ledger.add(now - 600.0 + k, abandoned=k < abandoned)


def test_a_ratio_campaign_over_the_cap_dials_progressive() -> None:
    ledger = AbandonLedger(24 * 3600.0)
    _answers(ledger, 10_000.0, answered=150, abandoned=68)
    assert _runner(ledger).effective_settings(10_000.0).mode == "progressive"


def test_a_ratio_campaign_with_room_under_the_cap_dials_its_ratio() -> None:
    ledger = AbandonLedger(24 * 3600.0)
    _answers(ledger, 10_000.0, answered=150, abandoned=2)
    settings = _runner(ledger).effective_settings(10_000.0)
    assert (settings.mode, settings.ratio) == ("ratio", 3.0)


def test_a_ratio_campaign_comes_back_once_the_window_has_room_again() -> None:
    ledger = AbandonLedger(24 * 3600.0)
    now = 10_000.0
    _answers(ledger, now, answered=100, abandoned=3)           # room 0.03 × 101 − 3 < 1 abandon
    runner = _runner(ledger)
    assert runner.effective_settings(now).mode == "progressive"
    for k in range(40):                                        # progressive's answers, none abandoned
        ledger.add(now + k, abandoned=False)
    assert runner.effective_settings(now + 40).mode == "progressive"    # 1.2 abandons of room: not yet
    for k in range(40):
        ledger.add(now + 40 + k, abandoned=False)
    assert runner.effective_settings(now + 80).mode == "ratio"          # 2.4: back to its ratio
