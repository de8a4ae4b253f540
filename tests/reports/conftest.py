"""The known small day the report tests read.

The day (UTC; the campaign is in Moscow, UTC+3):
  Anna:  ready 05:50-06:00, on call 06:00-06:10, wrap-up 06:10-06:15, paused 06:15-06:30, ready 06:30-07:00
  Boris: ready 06:50-07:10, on call 07:10-07:20, wrap-up 07:20-07:30, ready 07:30-(still open)
  attempts: #1 Anna 06:00 talk 300 s sale (north), #2 Anna 06:20 talk 120 s not_interested (south),
            #3 Boris 07:10 talk 600 s sale (north), #4 06:30 answered and abandoned (north),
            #5 06:40 no answer (south)
The report is made at 08:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 27, hh, mm, ss, tzinfo=UTC)


UNTIL = at(8, 0)


@pytest.fixture
async def day(db: asyncpg.Pool) -> asyncpg.Pool:
    campaign = await db.fetchval(
        """INSERT INTO campaign (name, channel_template, caller_id, timezone)
           VALUES ('winter', 'Local/{phone}@t', '+74950000000', 'Europe/Moscow') RETURNING id""")
    await db.fetchval(   # another campaign's attempt must not count
        """INSERT INTO campaign (name, channel_template, caller_id) VALUES ('other', 'L/{phone}', '1') RETURNING id""")
    lists = {name: await db.fetchval(
        "INSERT INTO call_list (campaign_id, name, source) VALUES ($1, $2, 'test') RETURNING id", campaign, name)
        for name in ("north", "south")}
    anna = await db.fetchval("INSERT INTO operator (name, extension) VALUES ('Anna', '101') RETURNING id")
    boris = await db.fetchval("INSERT INTO operator (name, extension) VALUES ('Boris', '102') RETURNING id")
    await db.executemany("INSERT INTO campaign_operator VALUES ($1, $2)", [(campaign, anna), (campaign, boris)])
    sessions = [
        (anna, "ready", at(5, 50), at(6, 0)), (anna, "on_call", at(6, 0), at(6, 10)),
        (anna, "wrap_up", at(6, 10), at(6, 15)), (anna, "paused", at(6, 15), at(6, 30)),
        (anna, "ready", at(6, 30), at(7, 0)),
        (boris, "ready", at(6, 50), at(7, 10)), (boris, "on_call", at(7, 10), at(7, 20)),
        (boris, "wrap_up", at(7, 20), at(7, 30)), (boris, "ready", at(7, 30), None),
    ]
    await db.executemany(
        "INSERT INTO operator_session (operator_id, state, started_at, ended_at) VALUES ($1, $2, $3, $4)", sessions)
    attempts = [  # (operator, list, claimed, answered, talk_s, abandoned, outcome, disposition)
        (anna, "north", at(6, 0), True, 300, False, "answered", "sale"),
        (anna, "south", at(6, 20), True, 120, False, "answered", "not_interested"),
        (boris, "north", at(7, 10), True, 600, False, "answered", "sale"),
        (None, "north", at(6, 30), True, None, True, "abandoned", None),
        (None, "south", at(6, 40), False, None, False, "no_answer", None),
    ]
    for n, (operator, list_name, claimed, answered, talk, abandoned, outcome, disposition) in enumerate(attempts):
        lead = await db.fetchval(
            "INSERT INTO lead (campaign_id, list_id, phone) VALUES ($1, $2, $3) RETURNING id",
            campaign, lists[list_name], f"+7916000000{n}")
        answered_at = claimed + timedelta(seconds=10) if answered else None
        connected_at = answered_at if talk is not None else None
        ended_at = (connected_at + timedelta(seconds=talk)) if connected_at else claimed + timedelta(seconds=30)
        await db.execute(
            """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, answered_at,
                                    connected_at, ended_at, abandoned, outcome, disposition, operator_id)
               VALUES ($1, $2, 'x', 'y', 'e', $3, $4, $5, $6, $7, $8, $9, $10)""",
            lead, campaign, claimed, answered_at, connected_at, ended_at, abandoned, outcome, disposition, operator)
    other_lead = await db.fetchval(
        "INSERT INTO lead (campaign_id, phone) SELECT id, '+1' FROM campaign WHERE name = 'other' RETURNING id")
    await db.execute(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, disposition, operator_id)
           SELECT $1, campaign_id, 'x', 'y', 'e', $2, 'sale', $3 FROM lead WHERE id = $1""",
        other_lead, at(6, 5), anna)
    return db
