"""The claim resumes where the last one stopped (``ClaimCursor``): same leads in the same order as a
claim from the head, nothing lost behind the cursor, and no walk past the leads claimed before."""

from __future__ import annotations

import json

import asyncpg
import pytest

from lists import leads
from lists.claim_statement import HEAD, ClaimCursor, claim_sql
from tests.lists.conftest import MORNING, add_leads

pytestmark = pytest.mark.db


def phones(count: int, start: int = 0) -> list[str]:
    return [f"+7916{n:07d}" for n in range(start, start + count)]


async def _set_priorities(conn: asyncpg.Connection, campaign_id: int) -> None:
    # three priorities mixed through the list, so the order is not just the order of loading
    await conn.execute("UPDATE lead SET priority = id % 3 WHERE campaign_id = $1", campaign_id)


async def test_a_cursor_claims_every_lead_once_in_strategy_order(conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(300))
    await _set_priorities(conn, campaign_id)
    expected = [r["id"] for r in await conn.fetch(
        "SELECT id FROM lead WHERE campaign_id = $1 ORDER BY priority DESC, next_due_at, id", campaign_id)]
    cursor, got = ClaimCursor(rewind_s=3600), []
    while batch := await leads.claim(conn, campaign_id=campaign_id, engine="e", n=7, now=MORNING, cursor=cursor):
        got += [lead.id for lead in batch]
    assert got == expected


async def test_a_lead_given_back_behind_the_cursor_is_claimed_after_the_rewind(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(50))
    cursor = ClaimCursor(rewind_s=1.0)
    first = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=5, now=MORNING, cursor=cursor, loop_now=0)
    await leads.release(conn, lead_ids=[first[0].id], engine="e")
    soon = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=5, now=MORNING, cursor=cursor,
                             loop_now=0.5)
    assert first[0].id not in {lead.id for lead in soon}          # behind the cursor: not yet
    later = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=5, now=MORNING, cursor=cursor,
                              loop_now=1.5)
    assert later[0].id == first[0].id                              # the rewind finds it, first in order


async def test_a_short_claim_rewinds_so_nothing_waits_behind_the_cursor(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(10))
    cursor = ClaimCursor(rewind_s=3600)
    first = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=4, now=MORNING, cursor=cursor)
    await leads.release(conn, lead_ids=[first[1].id], engine="e")
    rest = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=20, now=MORNING, cursor=cursor)
    assert len(rest) == 6 and first[1].id not in {lead.id for lead in rest}   # came back short…
    again = await leads.claim(conn, campaign_id=campaign_id, engine="e", n=20, now=MORNING, cursor=cursor)
    assert [lead.id for lead in again] == [first[1].id]                       # …so the next one looks again


async def _index_pages_read(conn: asyncpg.Connection, campaign_id: int, start: tuple) -> int:
    """Buffers the claim's index scan touches when it starts at ``start`` (rolled back)."""
    sql = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claim_sql(10)
    transaction = conn.transaction()
    await transaction.start()
    try:
        plan = await conn.fetchval(
            sql, campaign_id, MORNING, None, None, 0, f"campaign:{campaign_id}", "probe", MORNING, MORNING.date(),
            "cold", "callback", "follow_up", "retry", *start, *HEAD, *HEAD, *HEAD)
    finally:
        await transaction.rollback()
    found: list[int] = []

    def walk(node: dict) -> None:
        if node.get("Index Name") == "lead_claim_order" and node.get("Actual Loops", 0) > 0:
            found.append(node["Shared Hit Blocks"] + node.get("Shared Read Blocks", 0))
        for child in node.get("Plans", []):
            walk(child)
    walk(json.loads(plan)[0]["Plan"])
    return sum(found)


async def test_a_claim_does_not_walk_past_the_leads_claimed_before(conn: asyncpg.Connection, campaign_id: int) -> None:
    await add_leads(conn, campaign_id, phones(6000))
    cursor = ClaimCursor(rewind_s=3600)
    for _ in range(100):
        await leads.claim(conn, campaign_id=campaign_id, engine="e", n=50, now=MORNING, cursor=cursor)
    # 5,000 claimed leads left their (dead) entries at the head of the index until VACUUM
    from_head = await _index_pages_read(conn, campaign_id, HEAD)
    from_cursor = await _index_pages_read(conn, campaign_id, cursor.after("cold", 0.0))
    assert from_cursor * 3 < from_head, (from_cursor, from_head)   # measured: 44 against 204
