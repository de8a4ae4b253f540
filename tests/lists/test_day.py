"""A simulated working day in the campaign's zone: the strategy, callbacks and follow-ups at work."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from lists import callbacks, leads
from tests.lists.conftest import add_leads

pytestmark = pytest.mark.db

MOSCOW = ZoneInfo("Europe/Moscow")


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, 9, hour, minute, second, tzinfo=MOSCOW) + timedelta(days=day)  # day 0: a Monday


async def add_operator(conn: asyncpg.Connection, name: str) -> int:
    return await conn.fetchval(
        "INSERT INTO operator (name, extension) VALUES ($1, $2) RETURNING id", name, str(abs(hash(name)) % 10**6))


async def open_attempt(conn: asyncpg.Connection, lead_id: int, now: datetime) -> int:
    return await conn.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at)
           SELECT id, campaign_id, phone, '+74950000000', 'e1', $2 FROM lead WHERE id = $1 RETURNING id""",
        lead_id, now)


async def test_cold_calls_in_the_morning_callbacks_and_follow_ups_in_the_afternoon(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, [f"+7916{n:07d}" for n in range(30)])
    for lead_id in await add_leads(conn, campaign_id, [f"+7495{n:07d}" for n in range(3)]):
        await callbacks.schedule(conn, lead_id=lead_id, due_at=at(0, 9, 30), now=at(-1, 17))
    for lead_id in await add_leads(conn, campaign_id, [f"+7812{n:07d}" for n in range(2)]):
        attempt_id = await open_attempt(conn, lead_id, at(-3, 9, 15))
        await leads.record_disposition(conn, attempt_id=attempt_id, code="information_sent", now=at(-3, 9, 15))

    dialed: list[tuple[datetime, str]] = []
    now = at(0, 9)
    while now < at(0, 15):
        for lead in await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=now):
            dialed.append((now, lead.category))
            await leads.settle(conn, lead_id=lead.id, engine="e1", outcome="connected", now=now)
        now += timedelta(minutes=20)

    morning = [category for t, category in dialed if t < at(0, 13)]
    afternoon = [category for t, category in dialed if t >= at(0, 13)]
    assert morning == ["cold"] * 12  # callbacks and follow-ups were due from 09:30, yet cold went first
    assert sorted(afternoon[:5]) == ["callback"] * 3 + ["follow_up"] * 2
    assert afternoon[5:] == ["cold"] * (len(afternoon) - 5)


async def test_a_follow_up_falls_due_exactly_three_days_after_information_sent(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    [lead_id] = await add_leads(conn, campaign_id, ["+74959374955"])
    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(0, 14, 5))
    attempt_id = await open_attempt(conn, lead.id, at(0, 14, 5))
    await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="connected", now=at(0, 14, 9))
    await leads.record_disposition(conn, attempt_id=attempt_id, code="information_sent", now=at(0, 14, 10))

    for day in (1, 2):
        assert await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(day, 15)) == []
    assert await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(3, 14, 9, 59)) == []
    [again] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(3, 14, 10))
    assert (again.id, again.category, again.attempts) == (lead_id, "follow_up", 1)


async def test_a_personal_callback_reaches_its_operator_and_later_anyone(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    anna, boris = await add_operator(conn, "anna"), await add_operator(conn, "boris")
    [lead_id] = await add_leads(conn, campaign_id, ["+74959374955"])
    await callbacks.schedule(conn, lead_id=lead_id, due_at=at(0, 15), now=at(0, 11), scope="personal",
                             operator_id=anna)

    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(0, 15))
    assert lead.owner_operator == anna  # the engine routes the answered call to Anna
    await leads.release(conn, lead_ids=[lead.id], engine="e1")

    # Anna is busy, Boris is free: the promise waits for Anna until the grace period (30 min) ends ...
    assert await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(0, 15, 10),
                             free_operators=[boris]) == []
    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(0, 15, 10),
                               free_operators=[anna, boris])
    assert lead.owner_operator == anna
    await leads.release(conn, lead_ids=[lead.id], engine="e1")
    # ... then anyone may take it
    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(0, 15, 30),
                               free_operators=[boris])
    assert lead.owner_operator is None


async def test_a_callback_on_another_number_dials_that_number_unless_it_is_dnc(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    [first, second] = await add_leads(conn, campaign_id, ["+74959374955", "+74959374956"])
    await callbacks.schedule(conn, lead_id=first, due_at=at(0, 14), now=at(0, 10), phone="8 (812) 555-12-34")
    await callbacks.schedule(conn, lead_id=second, due_at=at(0, 14), now=at(0, 10), phone="+7 383 222-33-44")
    await conn.execute("INSERT INTO dnc (phone, scope, source) VALUES ('+73832223344', 'company', 'test')")
    claimed = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=5, now=at(0, 14))
    assert [(lead.id, lead.phone) for lead in claimed] == [(first, "+78125551234")]
    await leads.settle(conn, lead_id=first, engine="e1", outcome="connected", now=at(0, 14, 5))
    assert await conn.fetchval("SELECT done_at FROM callback WHERE lead_id = $1", first) == at(0, 14, 5)
    open_ = await callbacks.open_callbacks(conn, campaign_id=campaign_id)
    assert [c.lead_id for c in open_] == [second]


async def test_a_callback_not_answered_stays_a_callback(conn: asyncpg.Connection, campaign_id: int) -> None:
    [lead_id] = await add_leads(conn, campaign_id, ["+74959374955"])
    await callbacks.schedule(conn, lead_id=lead_id, due_at=at(0, 14), now=at(0, 10))
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=at(0, 14))
    await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="no_answer", now=at(0, 14, 1))
    row = await conn.fetchrow("SELECT category, state, next_due_at FROM lead WHERE id = $1", lead_id)
    assert (row["category"], row["state"], row["next_due_at"]) == ("callback", "ready", at(0, 14, 31))
