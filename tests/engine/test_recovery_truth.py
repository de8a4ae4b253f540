"""Recovery keeps the truth: a customer who reached an operator stays a connected call, with the times
the store already holds, whatever happened to the engine meanwhile — and is never dialed again as if
never reached. An answer that never reached an operator stays an abandon."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from ami.pbx import ChannelHungUp, PbxError, far_half
from ami.simulator import CalleeFate, start_simulator
from compliance import store as compliance_store
from compliance.store import ledger as ledger_counts
from dialer.call import channel_id_of
from dialer.engine import Engine
from lists import campaigns, database, leads, operators
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until
from tests.faults.engine_process import SECRET, USER
from tests.faults.test_campaign_through_faults import EngineProcess

pytestmark = pytest.mark.db

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)                # midday()'s start
ANSWERED = NOON - timedelta(seconds=90)               # what the killed engine wrote before it died
CONNECTED = ANSWERED + timedelta(milliseconds=420)


async def left_connected(db: asyncpg.Pool, campaign_id: int, *, connected: bool = True,
                         operator_id: int | None = None) -> tuple[int, int]:
    """What a killed engine leaves of a call it had answered (and handed to an operator): (lead, attempt)."""
    lead_id = await db.fetchval("SELECT id FROM lead ORDER BY id LIMIT 1")
    await db.execute("""UPDATE lead SET state = 'claimed', claimed_by = 'engine-1', attempts = 1,
                                          attempts_today = 1, lease_until = now() + interval '10 minutes'
                          WHERE id = $1""", lead_id)
    attempt_id = await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, originated_at,
                                answered_at, connected_at, operator_id, state)
           VALUES ($1, $2, '+15550001', '+15550000000', 'engine-1', $3, $3, $4, $5, $6, $7) RETURNING id""",
        lead_id, campaign_id, ANSWERED - timedelta(seconds=5), ANSWERED, CONNECTED if connected else None,
        operator_id, "connected" if connected else "waiting")
    return lead_id, attempt_id


async def test_a_connected_call_that_ended_while_no_engine_ran_stays_connected_with_its_times(
        db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")   # nothing new to dial
    operator_id = await db.fetchval("SELECT id FROM operator")
    lead_id, attempt = await left_connected(db, campaign_id, operator_id=operator_id)
    engine = Engine(db, FakePbx(), midday(), CONFIG)       # the PBX no longer has the channel
    await engine.start()
    try:
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
        assert (row["state"], row["outcome"], row["abandoned"]) == ("ended", "connected", False)
        assert (row["answered_at"], row["connected_at"]) == (ANSWERED, CONNECTED)
        assert row["ended_at"] is not None and row["ended_at"] >= CONNECTED
        assert row["disposition"] == "unknown" and row["operator_id"] == operator_id
        lead = await db.fetchrow("SELECT * FROM lead WHERE id = $1", lead_id)
        assert (lead["state"], lead["last_outcome"], lead["last_disposition"]) == ("done", "connected", "unknown")
        # the restarted engine never calls this person again
        assert [r for r in engine.pbx.customer_calls() if r.variables["LEAD_ID"] == str(lead_id)] == []
        # neither the pacer's ledger nor the law's count it abandoned
        [runner] = engine.runners.values()
        assert runner.ledger.counts(asyncio.get_running_loop().time()) == (1, 0)
        async with db.acquire() as conn:
            assert await ledger_counts(conn, campaign_id=campaign_id, now=NOON, window=timedelta(days=1)) == (1, 0)
    finally:
        await engine.stop(drain_s=0)


async def test_the_operator_can_replace_the_unknown_disposition_later(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    lead_id, attempt = await left_connected(db, campaign_id)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    await engine.stop(drain_s=0)
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "unknown"
    async with db.acquire() as conn:
        await leads.record_disposition(conn, attempt_id=attempt, code="no_decision", now=NOON)
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "no_decision"
    lead = await db.fetchrow("SELECT state, category, last_disposition FROM lead WHERE id = $1", lead_id)
    assert (lead["state"], lead["category"], lead["last_disposition"]) == ("ready", "follow_up", "no_decision")


async def test_a_call_still_with_its_operator_after_a_restart_keeps_its_real_times(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    operator_id = await db.fetchval("SELECT id FROM operator")
    _, attempt = await left_connected(db, campaign_id, operator_id=operator_id)
    pbx = FakePbx()
    pbx.live |= {channel_id_of(attempt), "op101-4", "op101-4-2"}
    pbx.where[channel_id_of(attempt)] = ("Up", "operator-join", "101")
    pbx.where["op101-4-2"] = ("Up", "operators", "101")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: engine.floor.operators[operator_id].attempt_id == attempt)
        assert engine.handoff.latencies_s == []      # a hand-off nobody saw is no hand-off figure
        pbx.emit(ChannelHungUp(channel_id_of(attempt), 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
        assert (row["outcome"], row["abandoned"]) == ("connected", False)
        assert (row["answered_at"], row["connected_at"]) == (ANSWERED, CONNECTED)
    finally:
        await engine.stop(drain_s=0)


async def test_an_answered_call_that_never_reached_an_operator_and_ended_meanwhile_is_abandoned(
        db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=0, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    lead_id, attempt = await left_connected(db, campaign_id, connected=False)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    await engine.stop(drain_s=0)
    row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
    assert (row["outcome"], row["abandoned"], row["answered_at"]) == ("lost", True, ANSWERED)
    assert row["connected_at"] is None and row["disposition"] is None
    async with db.acquire() as conn:
        assert await ledger_counts(conn, campaign_id=campaign_id, now=NOON, window=timedelta(days=1)) == (1, 1)
    assert await db.fetchval("SELECT state FROM lead WHERE id = $1", lead_id) == "ready"



async def left_unheard(db: asyncpg.Pool, *, leads_due_later: bool = True) -> tuple[int, int, int]:
    """What a killed engine leaves of a call answered after it died: (campaign, lead, attempt), the
    attempt originated only."""
    campaign_id = await make_campaign(db, operators_n=0, leads_n=2)
    if leads_due_later:
        await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    lead_id, attempt = await left_connected(db, campaign_id, connected=False)
    await db.execute("UPDATE attempt SET answered_at = NULL, state = 'originating' WHERE id = $1", attempt)
    return campaign_id, lead_id, attempt


async def run_recovery(db: asyncpg.Pool, pbx: FakePbx) -> None:
    """An engine starts (its recovery runs) and stops."""
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    await engine.stop(drain_s=0)


@pytest.mark.parametrize("trace", ["no-operator", "opt-out"])
async def test_a_call_answered_while_no_engine_ran_counts_by_what_the_dialplan_wrote(
        db: asyncpg.Pool, trace: str) -> None:
    """The safety net played the message (and the callee pressed 9) while no engine heard its UserEvents:
    the trace in AstDB makes it an abandon (and the number do-not-call), then is deleted."""
    campaign_id, _, attempt = await left_unheard(db)
    pbx = FakePbx()
    pbx.astdb[("dialer", str(attempt))] = f"{trace} +15550001"
    for _ in range(2):                                   # a second start reads nothing twice
        await run_recovery(db, pbx)
        row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
        assert (row["outcome"], row["abandoned"]) == ("lost", True)
        assert row["answered_at"] is not None and row["answered_at"] <= row["ended_at"]
        async with db.acquire() as conn:
            counted = await ledger_counts(conn, campaign_id=campaign_id, now=NOON + timedelta(hours=1),
                                          window=timedelta(days=1))
            assert counted == (1, 1)              # one live answer, abandoned
            assert await compliance_store.is_dnc(conn, "+15550001", campaign_id) is (trace == "opt-out")
        assert pbx.astdb == {}


async def test_an_unanswered_call_gone_meanwhile_without_a_trace_is_lost_and_retried(db: asyncpg.Pool) -> None:
    _, lead_id, attempt = await left_unheard(db)
    await run_recovery(db, FakePbx())
    row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
    assert (row["outcome"], row["abandoned"], row["answered_at"]) == ("lost", False, None)
    assert await db.fetchval("SELECT state FROM lead WHERE id = $1", lead_id) == "ready"


async def test_a_trace_naming_another_number_is_another_store_s_and_left_alone(db: asyncpg.Pool) -> None:
    """A store started afresh against the same Asterisk numbers its attempts from 1 again: an old trace
    under the same id names the other call's number, and counts nothing here."""
    campaign_id, _, attempt = await left_unheard(db)
    pbx = FakePbx()
    pbx.astdb[("dialer", str(attempt))] = "opt-out +15559999"
    await run_recovery(db, pbx)
    row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
    assert (row["outcome"], row["abandoned"], row["answered_at"]) == ("lost", False, None)
    async with db.acquire() as conn:
        assert not await compliance_store.is_dnc(conn, "+15550001", campaign_id)
        assert not await compliance_store.is_dnc(conn, "+15559999", campaign_id)


async def test_a_trace_the_pbx_cannot_be_asked_for_leaves_the_attempt_open(db: asyncpg.Pool) -> None:
    _, _, attempt = await left_unheard(db, leads_due_later=False)

    class NoDb(FakePbx):
        async def db_get(self, family: str, key: str) -> str | None:
            raise PbxError("DBGet", "Permission denied")

    engine = Engine(db, NoDb(), midday(), CONFIG)
    report = await engine.recovery.recover()
    assert (report.lost, report.unresolved) == ([], 1)
    assert await db.fetchval("SELECT ended_at FROM attempt WHERE id = $1", attempt) is None


class LongTalks:
    """Every callee answers at once and talks for ten minutes: the calls outlive the engine."""

    def fate(self, number: str) -> CalleeFate:
        return CalleeFate("answer", ring_s=0.2, talk_s=600.0)


async def poll(db: asyncpg.Pool, sql: str, *args: object, timeout: float = 30.0) -> None:
    """Wait until ``sql`` returns true in the store."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await db.fetchval(sql, *args):
        assert loop.time() < deadline, f"the store never said: {sql}"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_calls_connected_when_the_engine_is_killed_keep_the_truth_through_a_real_restart(
        store_schema: tuple[str, str], tmp_path: Path) -> None:
    url, schema = store_schema
    db = await database.open_db(url, search_path=schema)
    sim = await start_simulator(callees=LongTalks(), users={USER: SECRET})
    engine = EngineProcess(tmp_path, sim.port, url, schema)
    try:
        campaign = await campaigns.create(db, name="truth", channel_template="Local/{digits}@pstn",
                                          caller_id="+15550000000", mode="progressive", ring_timeout_s=15)
        ops = [await operators.create(db, name=f"op{i}", extension=str(201 + i), simulated=True) for i in range(2)]
        await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
        await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                               [(campaign.id, f"+1555000{i:04d}") for i in range(2)])
        await campaigns.set_state(db, "truth", "running", actor="test", now=datetime.now(UTC))
        await engine.start()
        await poll(db, "SELECT count(*) = 2 FROM attempt WHERE connected_at IS NOT NULL")
        engine.kill()                                           # both customers are talking to operators
        assert engine.proc is not None
        await engine.proc.wait()
        before = {r["id"]: r for r in await db.fetch("SELECT * FROM attempt ORDER BY id")}
        gone, kept = before
        sim.hang_up(far_half(channel_id_of(gone)))                        # one customer hangs up while no engine runs
        await engine.start()                                    # "engine started": recovery done
        await poll(db, "SELECT ended_at IS NOT NULL FROM attempt WHERE id = $1", gone)
        row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", gone)
        assert (row["outcome"], row["abandoned"], row["disposition"]) == ("connected", False, "unknown")
        assert (row["answered_at"], row["connected_at"]) == (before[gone]["answered_at"], before[gone]["connected_at"])
        assert row["ended_at"] >= row["connected_at"] and row["operator_id"] == before[gone]["operator_id"]
        lead = await db.fetchrow("SELECT state, last_disposition FROM lead WHERE id = $1", row["lead_id"])
        assert (lead["state"], lead["last_disposition"]) == ("done", "unknown")

        sim.hang_up(far_half(channel_id_of(kept)))                        # the other one was re-attached, ends now
        await poll(db, "SELECT disposition IS NOT NULL FROM attempt WHERE id = $1", kept)
        row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", kept)
        assert (row["outcome"], row["abandoned"]) == ("connected", False) and row["disposition"] != "unknown"
        assert (row["answered_at"], row["connected_at"]) == (before[kept]["answered_at"], before[kept]["connected_at"])
        async with db.acquire() as conn:
            report = await compliance_store.compliance_report(conn, campaign_id=campaign.id, now=datetime.now(UTC))
        assert [(w.live_answers, w.abandons) for w in report.rows] == [(2, 0)] * len(report.rows)
        assert sorted(sim.originates_by_number.values()) == [1, 1]     # nobody was called twice
        await engine.stop()
    finally:
        if engine.proc is not None and engine.proc.returncode is None:
            engine.kill()
        await sim.close()
        await db.close()


async def test_a_code_the_operator_set_before_the_engine_died_is_kept(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    lead_id, attempt = await left_connected(db, campaign_id)
    async with db.acquire() as conn:     # the console writes at once; the call's end was still queued
        await leads.record_disposition(conn, attempt_id=attempt, code="no_decision", now=NOON)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    await engine.stop(drain_s=0)
    row = await db.fetchrow("SELECT outcome, disposition, ended_at FROM attempt WHERE id = $1", attempt)
    assert (row["outcome"], row["disposition"]) == ("connected", "no_decision") and row["ended_at"] is not None
    lead = await db.fetchrow("SELECT state, category, last_disposition FROM lead WHERE id = $1", lead_id)
    assert (lead["state"], lead["category"], lead["last_disposition"]) == ("ready", "follow_up", "no_decision")


async def test_a_call_put_through_before_its_answer_was_written_is_an_answer_with_both_times(
        db: asyncpg.Pool) -> None:
    """The engine died right after the hand-off, before the write-behind recorder stored the answer: the
    row says only 'ringing'. Found in an operator's conference, it is answered and connected, both at the
    moment it was found (the best bound), and the ledger counts its answer — never a connect without one."""
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    _, attempt = await left_connected(db, campaign_id, connected=False)
    await db.execute("UPDATE attempt SET answered_at = NULL, state = 'ringing' WHERE id = $1", attempt)
    pbx = FakePbx()
    pbx.live |= {channel_id_of(attempt), "op101-4", "op101-4-2"}
    pbx.where[channel_id_of(attempt)] = ("Up", "operator-join", "101")
    pbx.where["op101-4-2"] = ("Up", "operators", "101")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        operator_id = await db.fetchval("SELECT id FROM operator")
        await until(lambda: engine.floor.operators[operator_id].attempt_id == attempt)
        pbx.emit(ChannelHungUp(channel_id_of(attempt), 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
        assert (row["outcome"], row["abandoned"]) == ("connected", False)
        assert row["answered_at"] is not None and row["connected_at"] >= row["answered_at"]
        assert engine.runners[campaign_id].ledger.counts(asyncio.get_running_loop().time()) == (1, 0)
    finally:
        await engine.stop(drain_s=0)
