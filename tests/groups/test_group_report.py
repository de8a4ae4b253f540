"""``dialer report group``: per campaign and per pool, from attempt and operator_session rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from typer.testing import CliRunner

import cli
from dialer.groups.report import make_group_report
from dialer.tuning import validate_pacing
from lists import campaigns, groups, operators

pytestmark = pytest.mark.db
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def floor_day(db: asyncpg.Pool) -> None:
    """Two campaigns 70/30 sharing Anna and Boris; Anna talks 6 min for sales and 3 for survey, Boris 2 for sales.
    Each call is followed by 1 min of wrap-up; Anna is also ready 4 min, Boris 1 min."""
    ids = {}
    for name in ("sales", "survey"):
        ids[name] = (await campaigns.create(db, name=name, channel_template="L/{phone}", caller_id="+15550000000")).id
    await groups.create(db, "floor", actor="t", now=T0, validate=validate_pacing)
    await groups.set_member(db, "floor", "sales", share=70, actor="t", now=T0)
    await groups.set_member(db, "floor", "survey", share=30, actor="t", now=T0)
    anna = await operators.create(db, name="Anna", extension="101")
    boris = await operators.create(db, name="Boris", extension="102")
    for campaign_id in ids.values():
        await operators.assign(db, campaign_id=campaign_id, operator_ids=[anna.id, boris.id])
    calls = [(anna.id, "sales", 0, 6), (anna.id, "survey", 7, 3), (boris.id, "sales", 0, 2)]
    for n, (operator_id, campaign, start, talk) in enumerate(calls):
        lead = await db.fetchval("INSERT INTO lead (campaign_id, phone) VALUES ($1, $2) RETURNING id",
                                   ids[campaign], f"+1555000000{n}")
        await db.execute(
            """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, answered_at,
                                    connected_at, ended_at, outcome, operator_id, state)
               VALUES ($1, $2, 'x', 'y', 'e', $3, $3, $3, $4, 'answered', $5, 'ended')""",
            lead, ids[campaign], at(start), at(start + talk), operator_id)
        await db.execute(
            """INSERT INTO operator_session (operator_id, state, started_at, ended_at) VALUES
               ($1, 'on_call', $2, $3), ($1, 'wrap_up', $3, $4)""", operator_id, at(start), at(start + talk),
            at(start + talk + 1))
    await db.execute("""INSERT INTO operator_session (operator_id, state, started_at, ended_at) VALUES
                          ($1, 'ready', $3, $4), ($2, 'ready', $5, $6)""",
                       anna.id, boris.id, at(11), at(15), at(3), at(4))


async def test_the_group_report_gives_realized_shares_of_handle_time_and_the_pools_occupancy(
        db: asyncpg.Pool) -> None:
    await floor_day(db)
    report = await make_group_report(db, "floor", until=at(60))
    sales, survey = report.members
    assert (sales.talk_s, sales.wrap_s, survey.talk_s, survey.wrap_s) == (480, 120, 180, 60)
    assert report.realized_share(sales) == pytest.approx(600 / 840)
    assert (sales.target_share, survey.target_share) == (pytest.approx(0.7), pytest.approx(0.3))
    assert (report.pool.attempts, report.pool.connects, report.pool.handle_s) == (3, 3, 840)
    # each operator once: 11 min on call + 3 min wrap-up against 5 min ready
    assert report.occupancy == pytest.approx(14 / 19)
    later = await make_group_report(db, "floor", since=at(7), until=at(60))
    assert [m.attempts for m in later.members] == [0, 1]


async def test_dialer_report_group_prints_the_table_and_names_a_missing_group(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    await floor_day(db)
    url, schema = store_schema
    env = {"DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}", "COLUMNS": "220"}

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli.app, ["report", "group", *args], env=env)
        return result.exit_code, result.output

    code, output = await asyncio.to_thread(run, "floor", "--until", "2026-11-25T10:00:00+00:00")
    assert code == 0, output
    assert "pool occupancy 73.7%" in output
    cells = [line.replace("│", " ").split() for line in output.splitlines()]
    assert [c[:4] for c in cells if c[:1] in (["sales"], ["survey"], ["pool"])] == [
        ["sales", "70.0%", "71.4%", "+1.4"], ["survey", "30.0%", "28.6%", "-1.4"], ["pool", "—", "100.0%", "—"]]
    code, output = await asyncio.to_thread(run, "nosuch")
    assert code == 2 and "no campaign group named 'nosuch'" in output
