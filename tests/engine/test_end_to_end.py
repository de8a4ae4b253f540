"""A whole campaign over real TCP AMI against the PBX simulator and a real PostgreSQL, in virtual time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from dialer.sim.demo import DemoResult, DemoSettings, run_demo
from tests.conftest import store_url

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def day() -> Iterator[tuple[DemoResult, str]]:
    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    settings = DemoSettings(leads=120, operators=4, hours=2.0, seed=7, mode="progressive", schema=schema)
    yield run_demo(store_url(), settings), schema
    asyncio.run(_drop(schema))


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(store_url())
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.close()


async def _fetch(schema: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(store_url(), server_settings={"search_path": schema})
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def test_the_day_places_calls_and_connects_answers(day: tuple[DemoResult, str]) -> None:
    result, _ = day
    assert result.summary.attempts > 100
    assert result.summary.connected > 20
    assert result.virtual_s > 600


async def test_every_attempt_ends_in_a_recorded_outcome(day: tuple[DemoResult, str]) -> None:
    _, schema = day
    open_attempts = await _fetch(schema, "SELECT id FROM attempt WHERE ended_at IS NULL OR outcome IS NULL")
    assert open_attempts == []
    claimed = await _fetch(schema, "SELECT id FROM lead WHERE state = 'claimed'")
    assert claimed == []


async def test_no_lead_is_dialed_twice_at_once(day: tuple[DemoResult, str]) -> None:
    _, schema = day
    overlaps = await _fetch(schema, """
        SELECT a.lead_id FROM attempt a JOIN attempt b
          ON a.lead_id = b.lead_id AND a.id < b.id AND b.claimed_at < a.ended_at""")
    assert overlaps == []
    # A disposition (callback, follow-up …) may give the lead a fresh attempt budget; every lead that never
    # got one must count exactly its attempt rows (a dial the lead does not know about is a double dial).
    mismatched = await _fetch(schema, """
        SELECT l.id FROM lead l LEFT JOIN attempt a ON a.lead_id = l.id AND a.outcome <> 'not_dialed'
        WHERE NOT EXISTS (SELECT 1 FROM attempt d WHERE d.lead_id = l.id
                          AND d.disposition IS NOT NULL)
        GROUP BY l.id, l.attempts HAVING count(a.id) <> l.attempts""")
    assert mismatched == []


async def test_every_answered_call_was_connected_or_counted_abandoned(day: tuple[DemoResult, str]) -> None:
    _, schema = day
    lost = await _fetch(schema, """
        SELECT id FROM attempt WHERE answered_at IS NOT NULL AND connected_at IS NULL AND NOT abandoned""")
    assert lost == []
    connected_without_operator = await _fetch(
        schema, "SELECT id FROM attempt WHERE connected_at IS NOT NULL AND operator_id IS NULL")
    assert connected_without_operator == []


async def test_operators_hand_off_within_the_legal_window(day: tuple[DemoResult, str]) -> None:
    result, schema = day
    assert result.handoff_p99_ms < 2000
    late = await _fetch(schema, """
        SELECT id FROM attempt WHERE connected_at - answered_at > interval '2 seconds'""")
    assert late == []


@pytest.fixture(scope="module")
def predictive_day() -> Iterator[DemoResult]:
    schema = f"e2e_{uuid.uuid4().hex[:10]}"
    settings = DemoSettings(leads=1500, operators=8, hours=2.0, seed=11, mode="predictive", schema=schema)
    yield run_demo(store_url(), settings)
    asyncio.run(_drop(schema))


def test_a_predictive_day_keeps_abandonment_under_the_cap(predictive_day: DemoResult) -> None:
    summary = predictive_day.summary
    assert summary.answered > 150
    assert summary.abandon_rate <= 0.03
    # and it did dial ahead of the operators: more calls in flight than free operators at times
    assert summary.attempts > summary.answered * 2


async def test_every_operator_state_change_is_a_closed_session_row(day: tuple[DemoResult, str]) -> None:
    _, schema = day
    doubly_open = await _fetch(schema, """
        SELECT operator_id FROM operator_session WHERE ended_at IS NULL GROUP BY 1 HAVING count(*) > 1""")
    assert doubly_open == []
    states = {r["state"] for r in await _fetch(schema, "SELECT DISTINCT state FROM operator_session")}
    assert {"ready", "on_call", "wrap_up"} <= states
    # each row ends exactly when the operator's next one starts (rows in the order they were written)
    gaps = await _fetch(schema, """
        SELECT id FROM (SELECT id, ended_at, lead(started_at) OVER (PARTITION BY operator_id ORDER BY id) AS next
                        FROM operator_session) s
        WHERE next IS NOT NULL AND ended_at IS DISTINCT FROM next""")
    assert gaps == []


async def test_stopping_the_engine_logs_every_operator_out(day: tuple[DemoResult, str]) -> None:
    _, schema = day
    assert await _fetch(schema, "SELECT id FROM operator_session WHERE ended_at IS NULL") == []
