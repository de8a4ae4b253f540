"""A campaign through a real Asterisk with the project's own configuration: ``dialer run``, simulated
operators on ``Local/{ext}@operators``, customers on a simulated PSTN whose first digit decides what
happens. One campaign runs for the module; each test reads one thing it must show. A second, of failures
only, dials them in bursts (ratio dialing): the order of Asterisk's events for one call varies with the
load, and some orders show up only when calls end together."""

from __future__ import annotations

import asyncio

import pytest

from tests.asterisk.campaign import CampaignRun, numbers, run_campaign
from tests.asterisk.conftest import BINARY
from tests.conftest import store_url

# Enough of each failure class that an event order Asterisk produces only now and then shows up.
KINDS = {"answer": 4, "busy": 5, "no_answer": 5, "congestion": 5}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    phones = [phone for kind, count in KINDS.items() for phone in numbers(kind, count)]
    return asyncio.run(run_campaign(BINARY, store_url(), phones, tmp_path_factory.mktemp("campaign"),
                                    operators=4, duration_s=150))


BURST = {"busy": 10, "no_answer": 10, "congestion": 10}


@pytest.fixture(scope="module")
def burst(tmp_path_factory: pytest.TempPathFactory) -> CampaignRun:
    phones = [phone for kind, count in BURST.items() for phone in numbers(kind, count)]
    return asyncio.run(run_campaign(BINARY, store_url(), phones, tmp_path_factory.mktemp("burst"),
                                    operators=4, duration_s=120, mode="ratio", pacing={"ratio": 3.0}))


def _of(campaign: CampaignRun, kind: str, counts: dict[str, int] = KINDS) -> list[dict]:
    rows = campaign.by_phone()
    return [rows.get(phone, {"phone": phone, "outcome": "never dialed"}) for phone in numbers(kind, counts[kind])]


def _both(campaign: CampaignRun, burst: CampaignRun, kind: str) -> list[dict]:
    return _of(campaign, kind) + _of(burst, kind, BURST)


def _story(rows: list[dict]) -> str:
    keys = ("phone", "outcome", "originate_reason", "dial_status", "hangup_cause", "operator_id")
    return "; ".join(", ".join(f"{k}={r.get(k)}" for k in keys) for r in rows)


def test_every_lead_gets_its_call(campaign: CampaignRun, burst: CampaignRun) -> None:
    for run, counts in ((campaign, KINDS), (burst, BURST)):
        assert run.finished, [(lead["phone"], lead["state"]) for lead in run.leads]
        assert len(run.attempts) == sum(counts.values()), _story(run.attempts)


def test_answered_numbers_reach_an_operator_within_2_s(campaign: CampaignRun) -> None:
    rows = _of(campaign, "answer")
    assert all(r["outcome"] == "connected" and r["operator_id"] is not None for r in rows), _story(rows)
    hand_offs = [(r["connected_at"] - r["answered_at"]).total_seconds() for r in rows]
    assert max(hand_offs) < 2.0, hand_offs
    assert campaign.ghosts == []


def test_busy_numbers_are_busy(campaign: CampaignRun, burst: CampaignRun) -> None:
    rows = _both(campaign, burst, "busy")
    assert all(r["outcome"] == "busy" for r in rows), _story(rows)


def test_unanswered_numbers_are_no_answer(campaign: CampaignRun, burst: CampaignRun) -> None:
    rows = _both(campaign, burst, "no_answer")
    assert all(r["outcome"] == "no_answer" for r in rows), _story(rows)


def test_congested_numbers_are_congestion(campaign: CampaignRun, burst: CampaignRun) -> None:
    rows = _both(campaign, burst, "congestion")
    assert all(r["outcome"] == "congestion" for r in rows), _story(rows)


def test_busy_and_congestion_keep_asterisks_causes(campaign: CampaignRun, burst: CampaignRun) -> None:
    rows = _both(campaign, burst, "busy") + _both(campaign, burst, "congestion")
    expected = {"busy": 5, "congestion": 8}
    assert all(r["originate_reason"] == expected[r["outcome"]] and r["hangup_cause"] != 0 for r in rows), \
        _story(rows)


def test_dialer_run_stops_within_5_s(campaign: CampaignRun) -> None:
    assert campaign.stop_s is not None and campaign.stop_s < 5.0, campaign.engine_log[-3000:]


def test_no_error_in_the_engine_log(campaign: CampaignRun) -> None:
    assert campaign.engine_errors == [], campaign.engine_log[-4000:]


def test_asterisk_runs_the_dialplan_without_warnings(campaign: CampaignRun) -> None:
    assert campaign.asterisk_warnings == []
