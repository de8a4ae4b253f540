"""A lead with several numbers: the next attempt after a failure dials the next number; dead and DNC
numbers are never dialed; calling hours are those of the number dialed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance import store as compliance_store
from lists import callbacks, importer, leads, numbers
from tests.lists.conftest import MORNING

pytestmark = pytest.mark.db

MAIN, OFFICE, HOME = "+79161234567", "+74959374955", "+79031112233"
VLADIVOSTOK = "+74232401010"   # a Vladivostok landline: 7 hours ahead of Moscow


async def lead_with(conn: asyncpg.Connection, campaign_id: int, phone: str, *alternates: str) -> int:
    return await conn.fetchval(
        """INSERT INTO lead (campaign_id, phone, alt_phones, timezone) VALUES ($1, $2, $3, 'Europe/Moscow')
           RETURNING id""", campaign_id, phone, list(alternates))


async def dial(conn: asyncpg.Connection, campaign_id: int, at: datetime, **kwargs: object) -> list[leads.ClaimedLead]:
    return await leads.claim(conn, campaign_id=campaign_id, engine="e", n=5, now=at, **kwargs)


async def test_a_lead_whose_main_number_is_busy_is_tried_on_its_alternate_next(
    conn: asyncpg.Connection, campaign_id: int
) -> None:
    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE, HOME)
    [first] = await dial(conn, campaign_id, MORNING)
    assert first.phone == MAIN
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="busy", now=MORNING)
    # not ten minutes (the busy delay for the same number): one minute, and on the office number
    assert await dial(conn, campaign_id, MORNING + timedelta(seconds=30)) == []
    [second] = await dial(conn, campaign_id, MORNING + timedelta(minutes=1))
    assert second.phone == OFFICE
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="no_answer", now=MORNING + timedelta(minutes=2))
    # two attempts a day at most (the person's, whichever number): the home number tomorrow
    assert await dial(conn, campaign_id, MORNING + timedelta(minutes=3)) == []
    [third] = await dial(conn, campaign_id, MORNING + timedelta(days=1))
    assert third.phone == HOME


async def test_the_numbers_go_round_and_the_attempt_cap_still_counts_the_person(
    conn: asyncpg.Connection, campaign_id: int
) -> None:
    await conn.execute("UPDATE campaign SET retry_rules = '{\"max_attempts\": 4, \"max_per_day\": 9}' WHERE id = $1",
                       campaign_id)
    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE)
    dialed, at = [], MORNING
    while claimed := await dial(conn, campaign_id, at):
        dialed.append(claimed[0].phone)
        await leads.settle(conn, lead_id=lead_id, engine="e", outcome="no_answer", now=at)
        at += timedelta(hours=1)
    assert dialed == [MAIN, OFFICE, MAIN, OFFICE]


async def test_an_invalid_number_is_never_dialed_again(conn: asyncpg.Connection, campaign_id: int) -> None:
    await conn.execute("UPDATE campaign SET retry_rules = '{\"max_attempts\": 9, \"max_per_day\": 9}' WHERE id = $1",
                       campaign_id)
    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE)
    await dial(conn, campaign_id, MORNING)
    # the network: "unallocated number" (Q.850 cause 1)
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="congestion", now=MORNING, cause=1)
    at = MORNING
    for _ in range(2):
        at += timedelta(hours=1)
        [lead] = await dial(conn, campaign_id, at)
        assert lead.phone == OFFICE
        await leads.settle(conn, lead_id=lead_id, engine="e", outcome="busy", now=at)
    assert await conn.fetchval("SELECT dead_phones FROM lead WHERE id = $1", lead_id) == [MAIN]


async def test_a_lead_whose_only_number_is_disconnected_is_finished(conn: asyncpg.Connection, campaign_id: int) -> None:
    lead_id = await lead_with(conn, campaign_id, MAIN)
    await dial(conn, campaign_id, MORNING)
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="failed", now=MORNING, cause=22)  # number changed
    assert await conn.fetchval("SELECT state FROM lead WHERE id = $1", lead_id) == "done"


async def test_plain_congestion_does_not_kill_a_number(conn: asyncpg.Connection, campaign_id: int) -> None:
    lead_id = await lead_with(conn, campaign_id, MAIN)
    await dial(conn, campaign_id, MORNING)
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="congestion", now=MORNING, cause=34)
    [again] = await dial(conn, campaign_id, MORNING + timedelta(hours=1))
    assert again.phone == MAIN


async def test_a_dnc_alternate_is_never_dialed(conn: asyncpg.Connection, campaign_id: int) -> None:
    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE, HOME)
    await compliance_store.add_dnc(conn, [OFFICE], source="test", now=MORNING)
    at, dialed = MORNING, []
    await conn.execute("UPDATE campaign SET retry_rules = '{\"max_attempts\": 5, \"max_per_day\": 9}' WHERE id = $1",
                       campaign_id)
    while claimed := await dial(conn, campaign_id, at):
        dialed.append(claimed[0].phone)
        await leads.settle(conn, lead_id=lead_id, engine="e", outcome="busy", now=at)
        at += timedelta(hours=1)
    assert OFFICE not in dialed and dialed == [MAIN, HOME, MAIN, HOME, MAIN]


async def test_an_alternate_put_on_dnc_after_it_was_chosen_is_not_dialed(
    conn: asyncpg.Connection, campaign_id: int
) -> None:
    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE)
    await dial(conn, campaign_id, MORNING)
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="busy", now=MORNING)
    await compliance_store.add_dnc(conn, [OFFICE], scope=f"campaign:{campaign_id}", source="test", now=MORNING)
    assert await dial(conn, campaign_id, MORNING + timedelta(hours=1)) == []
    [lead] = await dial(conn, campaign_id, MORNING + timedelta(hours=1))   # the person, on their main number
    assert lead.phone == MAIN


async def test_calling_hours_are_those_of_the_number_dialed(conn: asyncpg.Connection, campaign_id: int) -> None:
    """Moscow main number, Vladivostok alternate: at 20:00 in Moscow it is 03:00 in Vladivostok."""
    lead_id = await lead_with(conn, campaign_id, MAIN, VLADIVOSTOK)
    evening = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)   # 20:00 Moscow, 03:00 next day in Vladivostok
    moscow_only = ["Europe/Moscow"]
    await dial(conn, campaign_id, evening, allowed_timezones=moscow_only)
    await leads.settle(conn, lead_id=lead_id, engine="e", outcome="busy", now=evening)
    later = evening + timedelta(hours=1)
    assert "Asia/Vladivostok" in await leads.zones_in_play(conn, campaign_id=campaign_id)
    assert await dial(conn, campaign_id, later, allowed_timezones=moscow_only) == []
    [lead] = await dial(conn, campaign_id, later, allowed_timezones=["Asia/Vladivostok"])
    assert lead.phone == VLADIVOSTOK and lead.timezone == "Asia/Vladivostok"


async def test_a_callback_keeps_the_number_the_customer_gave(conn: asyncpg.Connection, campaign_id: int) -> None:
    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE)
    await callbacks.schedule(conn, lead_id=lead_id, due_at=MORNING, now=MORNING, phone=HOME)
    for hours in (0, 1):
        [lead] = await dial(conn, campaign_id, MORNING + timedelta(hours=hours))
        assert lead.phone == HOME
        await leads.settle(conn, lead_id=lead_id, engine="e", outcome="busy", now=MORNING + timedelta(hours=hours))


async def test_the_attempt_row_records_the_number_dialed(conn: asyncpg.Connection, campaign_id: int) -> None:
    from lists.attempts import NewAttempt, open_attempts

    lead_id = await lead_with(conn, campaign_id, MAIN, OFFICE)
    for hours, outcome in ((0, "busy"), (1, "no_answer")):
        [lead] = await dial(conn, campaign_id, MORNING + timedelta(hours=hours))
        await open_attempts(conn, [NewAttempt(lead.id, campaign_id, lead.phone, "+74950000000")], engine="e",
                            pbx=None, now=MORNING)
        await leads.settle(conn, lead_id=lead_id, engine="e", outcome=outcome, now=MORNING + timedelta(hours=hours))
    assert [r["phone"] for r in await conn.fetch("SELECT phone FROM attempt ORDER BY id")] == [MAIN, OFFICE]


async def test_alternates_loaded_from_a_file_are_dialed(conn: asyncpg.Connection, campaign_id: int,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "two-numbers.csv"
    path.write_text("ФИО;Телефон;Рабочий\nИванов;8 (916) 123-45-67;8 (495) 937-49-55\n", encoding="utf-8")
    await importer.import_file(conn, campaign_id=campaign_id, path=path, now=MORNING,
                               mapping="phone=Телефон,alt_phone=Рабочий")
    [lead] = await dial(conn, campaign_id, MORNING)
    await leads.settle(conn, lead_id=lead.id, engine="e", outcome="no_answer", now=MORNING)
    [again] = await dial(conn, campaign_id, MORNING + timedelta(hours=1))
    assert (lead.phone, again.phone) == (MAIN, OFFICE)


@given(count=st.integers(1, 4), dialed=st.integers(0, 3), dead=st.sets(st.integers(0, 3)),
       barred=st.sets(st.integers(0, 3)), outcome=st.sampled_from(sorted(numbers.MOVE_ON)))
def test_the_next_number_is_never_dead_or_barred(count: int, dialed: int, dead: set[int], barred: set[int],
                                                 outcome: str) -> None:
    own = [f"+7916000000{i}" for i in range(count)]
    current = own[dialed % count]
    chosen = numbers.next_number(own, current, outcome, dead={own[i % count] for i in dead},
                                 barred={own[i % count] for i in barred})
    usable = [n for i, n in enumerate(own) if i not in {d % count for d in dead} | {b % count for b in barred}]
    if not usable:
        assert chosen is None
    else:
        assert chosen in usable
        if len(usable) > 1:
            assert chosen != current
