"""The engine guards the law's rolling window as the simulation does: the windows that end over the next minutes,
whose oldest answers leave while the abandons stay."""

from __future__ import annotations

import pytest

from dialer.groups.runner import GroupRunner
from dialer.ledger import AbandonLedger
from dialer.runner import CampaignRunner
from lists.campaigns import Campaign
from lists.groups import CampaignGroup
from pacing.pool import Pool


def _runner(ledger: AbandonLedger, mode: str = "predictive") -> CampaignRunner:
    campaign = Campaign(id=1, name="c", state="running", mode=mode, pacing={"ratio": 3.0} if mode == "ratio" else {},
                        channel_template="Local/{number}@out", caller_id="100", timezone="UTC",
                        default_region="GB", ring_timeout_s=25, safe_harbor_s=2.0)
    return CampaignRunner(campaign, snapshot=lambda: None, dial=lambda *a: None, tick_s=0.25,  # type: ignore[arg-type]
                          can_dial=lambda: True, ledger=ledger)


def _ledger(now: float, leaving: int, day: float) -> AbandonLedger:
    """A window of ``day`` seconds holding 1,000 answers and 28 abandons (2.8 %), ``leaving`` of the answers made
    a window ago less ten minutes (they leave it over the next ten), the rest and the abandons later."""
    ledger = AbandonLedger(day)
    for k in range(leaving):
        ledger.add(now - day + 600.0 * (k + 0.5) / leaving, abandoned=False)
    rest = 1000 - leaving
    for k in range(rest):
        ledger.add(now - day + 3600.0 + 7 * 3600.0 * k / rest, abandoned=k >= rest - 28)
    return ledger


@pytest.mark.parametrize("window_s", [24 * 3600.0, 30 * 24 * 3600.0])   # the UK's 24 hours, the US's 30 days
def test_a_window_whose_old_answers_are_leaving_sends_the_campaign_to_progressive_before_it_passes(
        window_s: float) -> None:
    now = 3_000_000.0
    steady = _ledger(now, leaving=1, day=window_s)
    assert steady.counts(now) == (1000, 28)
    assert _runner(steady).effective_settings(now).mode == "predictive"
    leaving = _ledger(now, leaving=150, day=window_s)
    assert leaving.counts(now) == (1000, 28)
    assert _runner(leaving).effective_settings(now).mode == "progressive"


def _ledger_leaving_later(now: float, start_s: float, day: float) -> AbandonLedger:
    """1,000 answers and 28 abandons (2.8 %); 150 of the answers leave the window over the half hour that starts
    ``start_s`` from now, the rest and the abandons after the day's end."""
    ledger = AbandonLedger(day)
    for k in range(150):
        ledger.add(now - day + start_s + 1800.0 * (k + 0.5) / 150, abandoned=False)
    for k in range(850):
        ledger.add(now - day + 9 * 3600.0 + 3600.0 * k / 850, abandoned=k >= 850 - 28)
    return ledger


@pytest.mark.parametrize("mode", ["predictive", "ratio"])
def test_the_campaign_guards_the_window_over_the_next_hour(mode: str) -> None:
    # the oldest answers leave it 40 to 70 minutes from now (beyond 20 minutes ahead): progressive now; a ratio
    # campaign's fall-back reads the window ahead as predictive's does (it has no outlook of its own)
    now = 3_000_000.0
    ledger = _ledger_leaving_later(now, 2400.0, 24 * 3600.0)
    assert ledger.counts(now) == (1000, 28)
    assert _runner(ledger, mode).effective_settings(now).mode == "progressive"
    # 80 to 110 minutes from now: not yet
    assert _runner(_ledger_leaving_later(now, 4800.0, 24 * 3600.0), mode).effective_settings(now).mode == mode


def test_the_ledger_counts_what_stays_at_many_ends_at_once_as_one_at_a_time() -> None:
    now = 3_000_000.0
    ledger = _ledger_leaving_later(now, 2400.0, 24 * 3600.0)
    ends = [now + 60.0 * k for k in range(0, 600, 7)]
    assert ledger.counts_staying_at(now, ends) == [ledger.counts_staying(now, end) for end in ends]


def test_a_group_ledger_guards_the_groups_window_ahead_as_a_campaign_does() -> None:
    # the group's window (every member's answers) loses its oldest answers 40 to 70 minutes from now: the pool
    # controller, which alone decides the fall-back under a group ledger, sends the pool to progressive
    now = 3_000_000.0
    for start_s, falls in ((2400.0, True), (4800.0, False)):
        group = GroupRunner(CampaignGroup(id=1, name="g", reserved=0, pacing={}, group_ledger=True),
                            floor=None, snapshot=lambda *a: None, tick_s=0.25,  # type: ignore[arg-type]
                            can_dial=lambda: True)
        group.attach(_runner(AbandonLedger(24 * 3600.0)))
        group.use_ledger(_ledger_leaving_later(now, start_s, 24 * 3600.0))
        group._pool_decision(now, Pool(free_operators=3))
        assert group.fallback is falls
