"""Claiming leads for the engine: leases, DNC, time zones, retries, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from lists import leads
from lists.errors import OutcomeError, PhoneError
from tests.lists.conftest import MORNING, add_leads, make_campaign

pytestmark = pytest.mark.db


def phones(count: int, start: int = 0) -> list[str]:
    return [f"+7916{n:07d}" for n in range(start, start + count)]


async def test_two_concurrent_claimers_never_get_the_same_lead(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        campaign_id = await make_campaign(conn)
        await add_leads(conn, campaign_id, phones(600))

    async def claimer(engine: str) -> list[int]:
        got: list[int] = []
        async with db.acquire() as conn:
            while batch := await leads.claim(conn, campaign_id=campaign_id, engine=engine, n=7, now=MORNING):
                got += [lead.id for lead in batch]
        return got

    first, second = await asyncio.gather(claimer("a"), claimer("b"))
    assert len(first) + len(second) == 600
    assert not set(first) & set(second)
    assert first and second  # both really took part


async def test_a_claim_is_a_lease_that_counts_the_attempt(conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(3))
    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING, lease_s=60)
    row = await conn.fetchrow("SELECT state, claimed_by, lease_until, attempts FROM lead WHERE id = $1", lead.id)
    assert (row["state"], row["claimed_by"], row["attempts"]) == ("claimed", "e1", 1)
    assert row["lease_until"] == MORNING + timedelta(seconds=60)
    assert lead.attempts == 1 and lead.phone == "+79160000000" and lead.category == "cold"


async def test_expired_leases_come_back_and_heartbeats_keep_them(conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(4))
    await leads.claim(conn, campaign_id=campaign_id, engine="alive", n=2, now=MORNING, lease_s=30)
    await leads.claim(conn, campaign_id=campaign_id, engine="dead", n=2, now=MORNING, lease_s=30)
    later = MORNING + timedelta(seconds=20)
    await leads.extend_leases(conn, engine="alive", now=later, lease_s=30)
    assert await leads.expire_leases(conn, now=MORNING + timedelta(seconds=31)) == 2
    again = await leads.claim(conn, campaign_id=campaign_id, engine="new", n=10, now=MORNING + timedelta(seconds=32))
    assert len(again) == 2
    assert await conn.fetchval("SELECT count(*) FROM lead WHERE claimed_by = 'alive'") == 2


async def test_released_leads_are_as_if_never_claimed(conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(2))
    claimed = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=2, now=MORNING)
    await leads.release(conn, lead_ids=[lead.id for lead in claimed], engine="someone-else")
    assert await conn.fetchval("SELECT count(*) FROM lead WHERE state = 'claimed'") == 2
    await leads.release(conn, lead_ids=[lead.id for lead in claimed], engine="e1")
    rows = await conn.fetch("SELECT state, attempts, attempts_today FROM lead")
    assert {(r["state"], r["attempts"], r["attempts_today"]) for r in rows} == {("ready", 0, 0)}


async def test_dnc_listed_leads_are_never_claimed(conn: asyncpg.Connection, campaign_id: int) -> None:
    other = await make_campaign(conn, "other")
    numbers = phones(4)
    await add_leads(conn, campaign_id, numbers)
    await conn.executemany("INSERT INTO dnc (phone, scope, source) VALUES ($1, $2, 'test')", [
        (numbers[0], "company"), (numbers[1], f"campaign:{campaign_id}"), (numbers[2], f"campaign:{other}")])
    claimed = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=10, now=MORNING)
    assert sorted(lead.phone for lead in claimed) == [numbers[2], numbers[3]]
    # put on the list after loading: they leave the ready leads, so no later claim walks past them again
    barred = await conn.fetch(
        "SELECT state, last_outcome, attempts FROM lead WHERE phone = ANY($1) AND campaign_id = $2",
        numbers[:2], campaign_id)
    assert [tuple(r) for r in barred] == [("done", "dnc", 0)] * 2


async def test_only_leads_whose_every_zone_is_allowed_are_claimed(conn: asyncpg.Connection, campaign_id: int) -> None:
    [moscow] = await add_leads(conn, campaign_id, phones(1), timezone="Europe/Moscow")
    [vladivostok] = await add_leads(conn, campaign_id, phones(1, 1), timezone="Asia/Vladivostok")
    [both] = await add_leads(conn, campaign_id, phones(1, 2), timezone="Europe/Moscow")
    set_id = await conn.fetchval(
        "INSERT INTO timezone_set (zones) VALUES ('{Asia/Vladivostok,Europe/Moscow}') RETURNING id")
    await conn.execute("UPDATE lead SET timezone = NULL, timezone_set = $2 WHERE id = $1", both, set_id)
    assert await leads.zones_in_play(conn, campaign_id=campaign_id) >= {"Europe/Moscow", "Asia/Vladivostok"}
    claimed = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=10, now=MORNING,
                                allowed_timezones=["Europe/Moscow"])
    assert [lead.id for lead in claimed] == [moscow]
    claimed = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=10, now=MORNING,
                                allowed_timezones=["Europe/Moscow", "Asia/Vladivostok"])
    assert sorted(lead.id for lead in claimed) == sorted([vladivostok, both])


async def test_leads_not_yet_due_wait(conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(1), due=MORNING + timedelta(minutes=5))
    assert await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING) == []
    assert len(await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1,
                                 now=MORNING + timedelta(minutes=5))) == 1


async def test_retry_limits_hold_per_lead_and_per_day(conn: asyncpg.Connection, campaign_id: int) -> None:
    """Busy every time: 10 min apart, at most 2 a day, at most 3 in all (the defaults)."""
    [lead_id] = await add_leads(conn, campaign_id, phones(1))
    now = MORNING
    dialed_at = []
    for _ in range(20):
        claimed = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=now)
        if claimed:
            dialed_at.append(now)
            await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="busy", now=now)
        due = await conn.fetchval("SELECT next_due_at FROM lead WHERE id = $1 AND state = 'ready'", lead_id)
        if due is None:
            break
        now = max(now + timedelta(minutes=1), due)
    assert len(dialed_at) == 3
    assert dialed_at[1] - dialed_at[0] == timedelta(minutes=10)
    moscow = ZoneInfo("Europe/Moscow")  # the campaign's zone decides what "a day" is
    assert dialed_at[2].astimezone(moscow).date() > dialed_at[1].astimezone(moscow).date()
    assert await conn.fetchval("SELECT state FROM lead WHERE id = $1", lead_id) == "done"


async def test_a_settle_seen_twice_changes_nothing(conn: asyncpg.Connection, campaign_id: int) -> None:
    [lead_id] = await add_leads(conn, campaign_id, phones(1))
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    assert await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="no_answer", now=MORNING)
    first = await conn.fetchrow("SELECT * FROM lead WHERE id = $1", lead_id)
    assert not await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="busy", now=MORNING)
    assert await conn.fetchrow("SELECT * FROM lead WHERE id = $1", lead_id) == first
    assert first["category"] == "retry" and first["next_due_at"] == MORNING + timedelta(minutes=30)


async def test_an_unknown_outcome_is_refused(conn: asyncpg.Connection, campaign_id: int) -> None:
    with pytest.raises(OutcomeError, match="hung_up"):
        await leads.settle(conn, lead_id=1, engine="e1", outcome="hung_up", now=MORNING)


async def test_a_connected_call_without_disposition_finishes_the_lead(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    [lead_id] = await add_leads(conn, campaign_id, phones(1))
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="connected", now=MORNING)
    assert await conn.fetchval("SELECT state FROM lead WHERE id = $1", lead_id) == "done"


async def test_manual_dial_claims_the_number_once_and_never_a_dnc_one(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    lead_id = await leads.claim_manual(conn, campaign_id=campaign_id, phone="8 (495) 937-49-55", engine="e1",
                                       now=MORNING)
    assert await conn.fetchval("SELECT phone FROM lead WHERE id = $1", lead_id) == "+74959374955"
    assert await leads.claim_manual(conn, campaign_id=campaign_id, phone="+74959374955", engine="e2",
                                    now=MORNING) is None
    await conn.execute("INSERT INTO dnc (phone, scope, source) VALUES ('+74959374956', 'company', 't')")
    assert await leads.claim_manual(conn, campaign_id=campaign_id, phone="+74959374956", engine="e1",
                                    now=MORNING) is None



async def test_a_number_dialed_by_hand_is_never_retried_by_the_dialer(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    """A typed number that ended busy sat in the list as "ready, retry": the predictive dialer called it
    later on its own. A short or internal number ("12") became a lead too."""
    with pytest.raises(PhoneError):
        await leads.claim_manual(conn, campaign_id=campaign_id, phone="12", engine="e1", now=MORNING)
    typed = await leads.claim_manual(conn, campaign_id=campaign_id, phone="+74959374955", engine="e1", now=MORNING)
    assert typed is not None
    assert await leads.settle(conn, lead_id=typed, engine="e1", outcome="busy", now=MORNING)
    assert await conn.fetchval("SELECT state FROM lead WHERE id = $1", typed) == "done"
    # a lead of the list dialed by hand keeps the list's rules: the dialer was to call it anyway
    [listed] = await add_leads(conn, campaign_id, phones(1))
    phone = await conn.fetchval("SELECT phone FROM lead WHERE id = $1", listed)
    assert await leads.claim_manual(conn, campaign_id=campaign_id, phone=phone, engine="e1", now=MORNING) == listed
    assert await leads.settle(conn, lead_id=listed, engine="e1", outcome="busy", now=MORNING)
    assert await conn.fetchval("SELECT state FROM lead WHERE id = $1", listed) == "ready"
    # a lease of a typed number that runs out never puts it in the ready leads
    again = await leads.claim_manual(conn, campaign_id=campaign_id, phone="+74959374955", engine="e2", now=MORNING)
    assert again == typed
    assert await leads.expire_leases(conn, now=MORNING + timedelta(hours=1)) == 1
    assert await conn.fetchval("SELECT state FROM lead WHERE id = $1", typed) == "done"


async def test_a_campaigns_own_retry_rules_decide_the_next_try(conn: asyncpg.Connection, campaign_id: int) -> None:
    from lists import retries

    rules = retries.from_json({"delays_s": {"busy": 120}})
    await retries.save(conn, campaign_id, rules, actor="test", now=MORNING)
    assert await retries.load(conn, campaign_id) == rules
    [first] = await add_leads(conn, campaign_id, phones(1))
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    await leads.settle(conn, lead_id=first, engine="e1", outcome="busy", now=MORNING)
    assert await conn.fetchval("SELECT next_due_at FROM lead WHERE id = $1", first) == MORNING + timedelta(minutes=2)
    assert await conn.fetchval("SELECT count(*) FROM audit WHERE setting = 'retry_rules'") == 1


async def test_a_postponed_lead_is_not_counted_as_dialed_and_waits_until_due(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    [lead_id] = await add_leads(conn, campaign_id, phones(1))
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    later = MORNING + timedelta(hours=2)
    await leads.postpone(conn, lead_id=lead_id, engine="e1", due=later)
    row = await conn.fetchrow("SELECT state, attempts, next_due_at FROM lead WHERE id = $1", lead_id)
    assert (row["state"], row["attempts"], row["next_due_at"]) == ("ready", 0, later)
    assert await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=later - timedelta(seconds=1)) == []
    assert len(await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=later)) == 1
