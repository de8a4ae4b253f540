"""The disposition catalogue and what each code does to its lead."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from lists import disposition_catalogue, dispositions, leads
from lists.errors import DispositionError
from tests.lists.conftest import MORNING, add_leads
from tests.lists.test_day import open_attempt

pytestmark = pytest.mark.db


async def dialed_lead(conn: asyncpg.Connection, campaign_id: int, phone: str = "+74959374955") -> tuple[int, int]:
    [lead_id] = await add_leads(conn, campaign_id, [phone])
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    attempt_id = await open_attempt(conn, lead_id, MORNING)
    await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="connected", now=MORNING)
    return lead_id, attempt_id


async def test_a_campaign_gets_the_default_catalogue_on_first_use(conn: asyncpg.Connection, campaign_id: int) -> None:
    codes = await dispositions.catalogue(conn, campaign_id)
    assert {"sale", "information_sent", "callback", "not_interested", "not_our_audience", "no_decision"} <= set(codes)
    stored = await conn.fetchval("SELECT count(*) FROM disposition WHERE campaign_id = $1", campaign_id)
    assert stored == len(dispositions.DEFAULT_CATALOGUE) == len(codes)


async def test_the_console_offers_the_codes_in_one_order_before_and_after_the_first_disposition(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    """Seen at the console: the list read Sale, Information sent, … until the first call was coded, then
    Call back later, Do not call me, … (the stored codes by name), so an operator's usual keys chose
    another code mid-day. The default codes keep the default order; a campaign's own come after them."""
    before = [d.code for d in await dispositions.offered(conn, campaign_id)]
    await dispositions.catalogue(conn, campaign_id)                        # written at the first disposition
    await conn.execute("""INSERT INTO disposition (campaign_id, code, label) VALUES ($1, 'brochure_sent',
                          'Brochure sent'), ($1, 'a_quote', 'Quote')""", campaign_id)
    after = [d.code for d in await dispositions.offered(conn, campaign_id)]
    assert before == [d.code for d in dispositions.DEFAULT_CATALOGUE]
    assert after == [*before, "a_quote", "brochure_sent"]
    assert list(await dispositions.catalogue(conn, campaign_id)) == after


async def test_every_campaign_knows_the_system_code_unknown_whatever_its_catalogue(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    items = [dispositions.Disposition("sale", "Sale", final=True)]
    await disposition_catalogue.merge(conn, campaign_id, items, actor="test", now=MORNING)
    lead_id, attempt_id = await dialed_lead(conn, campaign_id)
    await leads.record_disposition(conn, attempt_id=attempt_id, code=dispositions.UNKNOWN, now=MORNING)
    row = await conn.fetchrow("SELECT state, last_disposition FROM lead WHERE id = $1", lead_id)
    assert (row["state"], row["last_disposition"]) == ("done", "unknown")     # not dialed again meanwhile


async def test_a_campaign_catalogue_cannot_take_a_system_code(conn: asyncpg.Connection, campaign_id: int) -> None:
    items = [dispositions.Disposition("unknown", "Who knows")]
    with pytest.raises(DispositionError, match="'unknown' is a system code"):
        await disposition_catalogue.merge(conn, campaign_id, items, actor="test", now=MORNING)


@pytest.mark.parametrize("code", ["not_interested", "not_our_audience", "sale"])
async def test_final_dispositions_close_the_lead_for_good(
        conn: asyncpg.Connection, campaign_id: int, code: str) -> None:
    lead_id, attempt_id = await dialed_lead(conn, campaign_id)
    await leads.record_disposition(conn, attempt_id=attempt_id, code=code, now=MORNING)
    row = await conn.fetchrow("SELECT state, last_disposition FROM lead WHERE id = $1", lead_id)
    assert (row["state"], row["last_disposition"]) == ("done", code)
    assert await conn.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) == code
    assert await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING + timedelta(days=30)) == []


async def test_an_unknown_code_names_the_known_ones(conn: asyncpg.Connection, campaign_id: int) -> None:
    _, attempt_id = await dialed_lead(conn, campaign_id)
    with pytest.raises(DispositionError, match="information_sent"):
        await leads.record_disposition(conn, attempt_id=attempt_id, code="maybe", now=MORNING)


async def test_a_callback_disposition_needs_its_time(conn: asyncpg.Connection, campaign_id: int) -> None:
    _, attempt_id = await dialed_lead(conn, campaign_id)
    with pytest.raises(DispositionError, match="time"):
        await leads.record_disposition(conn, attempt_id=attempt_id, code="callback", now=MORNING)
    await leads.record_disposition(conn, attempt_id=attempt_id, code="callback", now=MORNING,
                                   callback_at=MORNING + timedelta(hours=5))
    [lead] = await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING + timedelta(hours=5))
    assert lead.category == "callback"


async def test_recording_the_same_disposition_twice_changes_nothing(
        conn: asyncpg.Connection, campaign_id: int) -> None:
    lead_id, attempt_id = await dialed_lead(conn, campaign_id)
    await leads.record_disposition(conn, attempt_id=attempt_id, code="information_sent", now=MORNING)
    first = await conn.fetchrow("SELECT * FROM lead WHERE id = $1", lead_id)
    await leads.record_disposition(conn, attempt_id=attempt_id, code="information_sent",
                                   now=MORNING + timedelta(hours=1))
    assert await conn.fetchrow("SELECT * FROM lead WHERE id = $1", lead_id) == first


async def test_a_disposition_before_the_settle_wins(conn: asyncpg.Connection, campaign_id: int) -> None:
    """Wrap-up may finish before the engine writes the end of the call: the later settle must not undo it."""
    [lead_id] = await add_leads(conn, campaign_id, ["+74959374955"])
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    attempt_id = await open_attempt(conn, lead_id, MORNING)
    await leads.record_disposition(conn, attempt_id=attempt_id, code="information_sent", now=MORNING)
    assert not await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="connected", now=MORNING)
    assert await conn.fetchval("SELECT category FROM lead WHERE id = $1", lead_id) == "follow_up"


async def test_settle_with_a_disposition_applies_the_catalogue(conn: asyncpg.Connection, campaign_id: int) -> None:
    [lead_id] = await add_leads(conn, campaign_id, ["+74959374955"])
    await conn.execute(
        "INSERT INTO disposition (campaign_id, code, label, retry_after_s) VALUES ($1, 'line_bad', 'Bad line', 600)",
        campaign_id)
    await leads.claim(conn, campaign_id=campaign_id, engine="e1", n=1, now=MORNING)
    await leads.settle(conn, lead_id=lead_id, engine="e1", outcome="connected", now=MORNING, disposition="line_bad")
    row = await conn.fetchrow("SELECT state, category, next_due_at FROM lead WHERE id = $1", lead_id)
    assert (row["state"], row["category"], row["next_due_at"]) == ("ready", "retry", MORNING + timedelta(minutes=10))
