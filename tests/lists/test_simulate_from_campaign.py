"""``dialer simulate --from-campaign``: the what-if's world measured from the campaign's own attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from dialer.sim.scenario import measured_world
from lists.attempt_samples import attempt_samples
from lists.attempts import AttemptUpdate, NewAttempt, apply_updates, open_attempts
from tests.lists.test_cli import make_spring, runner_for

pytestmark = pytest.mark.db

MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def dialed(db: asyncpg.Pool, campaign_id: int, category: str, dials: int, answers: int,
                 talk_s: float, operator_id: int) -> None:
    """``dials`` ended attempts of leads of ``category``, the first ``answers`` answered and talked."""
    for i in range(dials):
        lead = await db.fetchval("INSERT INTO lead (campaign_id, phone, category) VALUES ($1, $2, $3) RETURNING id",
                                   campaign_id, f"+7495{hash((category, i)) % 10**7:07d}", category)
        at = MORNING + timedelta(minutes=i)
        if i < answers:
            await db.execute(
                """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, answered_at,
                                        connected_at, ended_at, state, outcome, operator_id)
                   VALUES ($1, $2, '+74950000001', '+74950000000', 'e1', $3, $3, $3, $4, 'ended', 'connected', $5)""",
                lead, campaign_id, at, at + timedelta(seconds=talk_s * (0.5 + (i % 3) / 2)), operator_id)
        else:
            await db.execute(
                """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, ended_at, state,
                                        outcome)
                   VALUES ($1, $2, '+74950000001', '+74950000000', 'e1', $3, $3, 'ended', 'no_answer')""",
                lead, campaign_id, at)


async def test_the_world_is_measured_per_category_from_the_attempts(db: asyncpg.Pool,
                                                                     store_schema: tuple[str, str]) -> None:
    campaign_id = await make_spring(db)
    anna = await db.fetchval("INSERT INTO operator (name, extension) VALUES ('anna', '101') RETURNING id")
    await dialed(db, campaign_id, "cold", 100, 10, 120.0, anna)
    await dialed(db, campaign_id, "callback", 40, 20, 120.0, anna)
    for i in range(5):
        start = MORNING + timedelta(hours=1, minutes=i)
        await db.execute("INSERT INTO operator_session (operator_id, state, started_at, ended_at) "
                           "VALUES ($1, 'wrap_up', $2, $3)", anna, start, start + timedelta(seconds=20))
    samples = await attempt_samples(db, campaign_id)
    assert samples.dials == {"cold": 100, "callback": 40} and samples.answers == {"cold": 10, "callback": 20}
    world, rates = measured_world(samples, None, None)
    assert rates == {"cold": 0.1, "callback": 0.5} and world.answer_rate == pytest.approx(30 / 140)
    assert world.talk_mean_s == pytest.approx(120.0, rel=0.05) and world.wrap_s == pytest.approx(20.0)

    run = runner_for(store_schema)
    code, output = await run("simulate", "--from-campaign", "spring", "--agents", "4", "--hours", "9", "--json")
    assert code == 0, output
    code, output = await run("simulate", "--from-campaign", "spring", "--agents", "4", "--hours", "0.5")
    assert code == 0 and "world measured from campaign spring" in output, output


async def test_a_campaign_with_too_few_attempts_or_none_of_that_name_is_refused_in_one_line(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    await make_spring(db)
    run = runner_for(store_schema)
    code, output = await run("simulate", "--from-campaign", "spring", "--agents", "4")
    assert code == 2 and "--from-campaign: too few attempts" in output, output
    code, output = await run("simulate", "--from-campaign", "autumn", "--agents", "4")
    assert code == 2 and "no campaign named 'autumn'" in output, output


async def test_a_dial_counts_in_the_category_the_lead_had_when_dialed_not_the_one_its_outcome_gave_it(
        db: asyncpg.Pool) -> None:
    """After a call a lead moves on (no answer: retry; information sent: follow-up), so its category now
    says nothing of the dial: counted so, a cold list measured nearly every cold dial as answered."""
    campaign_id = await make_spring(db)
    leads = [await db.fetchval("INSERT INTO lead (campaign_id, phone, category) VALUES ($1, $2, 'cold') "
                                 "RETURNING id", campaign_id, f"+7495{i:07d}") for i in range(10)]
    ids = await open_attempts(db, [NewAttempt(lead, campaign_id, "+74950000001", "+74950000000") for lead in leads],
                              engine="e1", pbx=None, now=MORNING)
    await apply_updates(db, [AttemptUpdate(a, state="ended", ended_at=MORNING, outcome="no_answer") for a in ids[:8]]
                        + [AttemptUpdate(a, state="ended", answered_at=MORNING, ended_at=MORNING,
                                         outcome="connected") for a in ids[8:]])
    await db.execute("UPDATE lead SET category = 'retry' WHERE id = ANY($1::bigint[])", leads[:8])
    await db.execute("UPDATE lead SET category = 'follow_up' WHERE id = ANY($1::bigint[])", leads[8:])
    samples = await attempt_samples(db, campaign_id)
    assert samples.dials == {"cold": 10} and samples.answers == {"cold": 2}
