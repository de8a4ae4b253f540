"""The engine over real TCP AMI against the PBX simulator speaking Asterisk 22's real orders, and a real store.

The simulator sends each failed call's burst (OriginateResponse, DialEnd, the Hangups of ;1 and ;2) in an
order Asterisk was seen to use, forced here one by one; the attempt rows must not depend on it. A
graceful stop of Asterisk refuses the Originate: the lead was never dialed and is due again at once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from ami.client import AmiClient
from ami.simulator import ScriptedCallees, SimulatorHandle, start_simulator
from ami.simulator.orders import SEEN
from dialer.engine import Engine
from dialer.floor import OperatorState
from lists import campaigns, operators
from tests.engine.test_engine import CONFIG, midday, until

pytestmark = pytest.mark.db


async def set_up(db: asyncpg.Pool, phones: list[str], *, operators_n: int) -> int:
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn-sim",
                                      caller_id="+15550000000", mode="progressive")
    ops = [await operators.create(db, name=f"op{i}", extension=str(101 + i), simulated=True)
           for i in range(operators_n)]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
    await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                           [(campaign.id, phone) for phone in phones])
    await campaigns.set_state(db, "c1", "running", actor="test", now=datetime.now(UTC))
    return campaign.id


async def engine_on(sim: SimulatorHandle, db: asyncpg.Pool) -> tuple[Engine, AmiClient]:
    client = AmiClient("127.0.0.1", sim.port, "dialer-lp", "change-me", reconnect_backoff=(0.05, 0.2))
    await client.start()
    engine = Engine(db, client, midday(), CONFIG)
    await engine.start()
    return engine, client


# number dialed → (outcome, originate_reason, dial_status, hangup_cause). No-answer orders take the
# campaign's ring time (15 s at least) on the wall clock: test_real_event_orders plays them from the recordings.
ROWS = {
    "+25550001": ("busy", 5, "BUSY", 17),
    "+45550002": ("congestion", 8, "CONGESTION", 34),
}


@pytest.mark.parametrize("order", range(max(len(SEEN["busy"]), len(SEEN["congestion"]))))
async def test_every_real_order_of_a_failed_call_gives_the_same_attempt_rows(db: asyncpg.Pool,
                                                                            order: int) -> None:
    await set_up(db, list(ROWS), operators_n=len(ROWS))
    sim = await start_simulator(callees=ScriptedCallees(), callee_contexts={"pstn-sim"}, burst_order=order)
    engine, client = await engine_on(sim, db)
    try:
        await until(lambda: sim.tally.busy + sim.tally.congestion == len(ROWS), timeout=20)
        await until(lambda: not engine.calls, timeout=5)
        await engine.recorder.drain()
    finally:
        await engine.stop(drain_s=0)
        await client.close()
        await sim.close()
    rows = {r["phone"]: (r["outcome"], r["originate_reason"], r["dial_status"], r["hangup_cause"])
            for r in await db.fetch("SELECT * FROM attempt")}
    assert rows == ROWS


async def test_an_originate_refused_while_asterisk_shuts_down_was_never_dialed_and_its_lead_is_due_now(
        db: asyncpg.Pool) -> None:
    campaign_id = await set_up(db, [], operators_n=1)
    sim = await start_simulator(callees=ScriptedCallees(), callee_contexts={"pstn-sim"})
    engine, client = await engine_on(sim, db)
    try:
        await until(lambda: any(o.state is OperatorState.READY for o in engine.floor.operators.values()))
        sim.stop_gracefully()          # the operator's phone keeps Asterisk up: it refuses every action
        await db.execute("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, '+15550009', 'UTC')",
                           campaign_id)
        await until(lambda: engine.stats.not_dialed >= 1, timeout=10)
        await engine.recorder.drain()
        await asyncio.sleep(0.5)       # the pacer goes on ticking: no further Originate is tried
        assert engine.stats.not_dialed == 1 and not client.connected
        assert sim.tally.originated == 1          # the operator's phone, before the stop
        rows = [tuple(r) for r in await db.fetch("SELECT outcome, originate_reason FROM attempt")]
        assert rows == [("not_dialed", None)]
        lead = await db.fetchrow("SELECT state, attempts, next_due_at IS NULL OR next_due_at <= $1 AS due FROM lead",
                                   engine.clock.now())
        assert (lead["state"], lead["attempts"], lead["due"]) == ("ready", 0, True)
        sim.stop_now()
        await until(lambda: sim.stopped.is_set())
        await sim.restart()
        await until(lambda: client.connected, timeout=10)   # not a wrong secret: it came back by itself
        assert client.failure is None
    finally:
        await engine.stop(drain_s=0)
        await client.close()
        await sim.close()


async def test_a_campaign_whose_every_call_the_pbx_refuses_is_paused_with_the_reason_not_burnt(
        db: asyncpg.Pool) -> None:
    """Local/{phone}@pstn-sim: '+' matches none of the context's digit patterns, so Asterisk fails every
    Originate before it rings. The engine must not claim the whole list: it pauses the campaign and says why."""
    phones = [f"+1555{n:07d}" for n in range(200)]
    campaign_id = await set_up(db, phones, operators_n=3)
    await db.execute("UPDATE campaign SET channel_template = 'Local/{phone}@pstn-sim', mode = 'ratio'")
    sim = await start_simulator(callees=ScriptedCallees(), callee_contexts={"pstn-sim"})
    engine, client = await engine_on(sim, db)
    try:
        await until(lambda: campaign_id not in engine.runners, timeout=20)
        await engine.recorder.drain()
    finally:
        await engine.stop(drain_s=0)
        await client.close()
        await sim.close()
    assert await db.fetchval("SELECT state FROM campaign") == "paused"
    reason = await db.fetchval("SELECT new_value #>> '{}' FROM audit WHERE setting = 'state_reason'")
    assert "refused 10 calls in a row" in reason and "{digits}" in reason
    dialed = await db.fetchval("SELECT count(*) FROM attempt")
    assert 10 <= dialed < 30, dialed          # a round or two in flight, not the list of 200


async def test_calls_that_ended_while_the_link_was_down_do_not_pause_the_campaign(db: asyncpg.Pool) -> None:
    """The AMI link drops while a dozen calls ring, and each ends (busy) before it is back: the reconciliation
    finds their channels gone, an end nobody saw. That is not the PBX refusing the numbers: the campaign goes
    on dialing."""
    phones = [f"+2555{n:07d}" for n in range(300)]          # busy after a second's ring
    campaign_id = await set_up(db, phones, operators_n=4)
    await db.execute("""UPDATE campaign SET mode = 'ratio',
                          pacing = '{"ratio": 4.0, "max_lines_per_operator": 4.0}'::jsonb""")
    sim = await start_simulator(callees=ScriptedCallees(), callee_contexts={"pstn-sim"})
    client = AmiClient("127.0.0.1", sim.port, "dialer-lp", "change-me", reconnect_backoff=(2.0, 2.0))
    await client.start()
    engine = Engine(db, client, midday(), CONFIG)
    await engine.start()
    try:
        ringing = lambda: sum(1 for c in engine.calls.values() if c.ringing)   # noqa: E731
        await until(lambda: ringing() >= 12, timeout=20)
        sim.drop_sessions()            # back in 2 s: every call ringing now has ended by then, unseen
        await until(lambda: client.reconnects == 1, timeout=10)
        await until(lambda: engine.stats.originated >= 60, timeout=30)   # and it dials on
        await engine.recorder.drain()
        assert campaign_id in engine.runners
    finally:
        await engine.stop(drain_s=0)
        await client.close()
        await sim.close()
    assert await db.fetchval("SELECT state FROM campaign") == "running"
    unseen = await db.fetchval("SELECT count(*) FROM attempt WHERE outcome = 'failed'")
    assert unseen >= 10, unseen     # the calls the link lost (their end unseen), not refusals
