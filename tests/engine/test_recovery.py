"""Calls that outlive the engine's picture of them (restart, takeover, lost AMI link) are followed to
their end: re-attached where Asterisk says they are, or closed as lost when their channel is gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined, LinkDown, LinkUp, NoOperatorInTime, OriginateResult
from compliance import store as compliance_store
from dialer.call import channel_id_of
from dialer.engine import Engine
from dialer.floor import OperatorState
from lists import leads
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def left_open(db: asyncpg.Pool, campaign_id: int, n: int, *, engine: str = "engine-1",
                    answered: bool = False) -> tuple[list[int], list[int]]:
    """What a killed engine leaves: ``n`` claimed leads, each with an open attempt. (lead ids, attempt ids)"""
    lead_ids = [r["id"] for r in await db.fetch("SELECT id FROM lead ORDER BY id LIMIT $1", n)]
    await db.execute("""UPDATE lead SET state = 'claimed', claimed_by = $2, attempts = 1,
                                         lease_until = now() + interval '10 minutes'
                          WHERE id = ANY($1::bigint[])""", lead_ids, engine)
    attempt_ids = [await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, answered_at, state)
           VALUES ($1, $2, '+15550001', '+15550000000', $3, now(), $4, 'ringing') RETURNING id""",
        lead, campaign_id, engine, datetime.now(UTC) if answered else None) for lead in lead_ids]
    return lead_ids, attempt_ids


async def campaign_with_leads(db: asyncpg.Pool, operators_n: int = 1) -> int:
    campaign_id = await make_campaign(db, operators_n=operators_n, leads_n=4)
    return campaign_id


async def test_an_answered_call_found_waiting_after_a_restart_goes_to_the_free_operator(db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")   # nothing new to dial
    _, [attempt] = await left_open(db, campaign_id, 1)
    pbx = FakePbx()
    pbx.live.add(channel_id_of(attempt))
    pbx.where[channel_id_of(attempt)] = ("Up", "dialer-answered", "s")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: (channel_id_of(attempt), "operator-join", "101") in pbx.redirects)
        pbx.emit(ConferenceJoined("op101", channel_id_of(attempt)))
        pbx.emit(ChannelHungUp(channel_id_of(attempt), 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, connected_at, operator_id FROM attempt WHERE id = $1", attempt)
        assert row["outcome"] == "connected" and row["connected_at"] is not None and row["operator_id"] is not None
    finally:
        await engine.stop(drain_s=0)


async def test_a_connected_call_is_reattached_to_its_operator_whose_phone_is_kept(db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    lead_ids, [attempt] = await left_open(db, campaign_id, 1, answered=True)
    pbx = FakePbx()
    pbx.live |= {channel_id_of(attempt), "op101-4", "op101-4-2"}     # the previous run's phone, serial 4
    pbx.where[channel_id_of(attempt)] = ("Up", "operator-join", "101")
    pbx.where["op101-4-2"] = ("Up", "operators", "101")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        [operator] = engine.floor.operators.values()
        assert operator.state is OperatorState.ON_CALL and operator.attempt_id == attempt
        assert [r for r in pbx.originated if r.channel_id.startswith("op")] == []   # not called again
        pbx.emit(ChannelHungUp(channel_id_of(attempt), 16))
        assert operator.state is OperatorState.WRAP_UP
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, abandoned, operator_id FROM attempt WHERE id = $1", attempt)
        assert (row["outcome"], row["abandoned"], row["operator_id"]) == ("connected", False, operator.id)
        assert await db.fetchval("SELECT state FROM lead WHERE id = $1", lead_ids[0]) != "claimed"
        await engine.phones.log_out(operator)
        await engine.phones.log_in(operator)
        assert pbx.originated[-1].channel_id == "op101-5"     # a new phone never reuses the adopted one's id
    finally:
        await engine.stop(drain_s=0)


async def test_a_call_the_dialplan_sent_to_the_message_is_recorded_abandoned(db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db, operators_n=0)
    _, [attempt] = await left_open(db, campaign_id, 1)
    pbx = FakePbx()
    pbx.live.add(channel_id_of(attempt))
    pbx.where[channel_id_of(attempt)] = ("Up", "dialer-safeharbor", "s")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        pbx.emit(ChannelHungUp(channel_id_of(attempt), 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, abandoned, answered_at FROM attempt WHERE id = $1", attempt)
        assert (row["outcome"], row["abandoned"]) == ("abandoned", True)
    finally:
        await engine.stop(drain_s=0)


async def test_a_gone_answered_call_never_connected_is_closed_lost_and_counted_abandoned(db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db, operators_n=0)
    _, [attempt] = await left_open(db, campaign_id, 1, answered=True)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    await engine.stop(drain_s=0)
    row = await db.fetchrow("SELECT outcome, abandoned, ended_at FROM attempt WHERE id = $1", attempt)
    assert (row["outcome"], row["abandoned"]) == ("lost", True) and row["ended_at"] is not None


async def test_a_lead_whose_call_is_still_open_is_never_released_by_lease_expiry(db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db, operators_n=0)
    lead_ids, _ = await left_open(db, campaign_id, 1, engine="engine-dead")
    await db.execute("UPDATE lead SET lease_until = now() - interval '1 hour'")   # hours-long call
    async with db.acquire() as conn:
        released = await leads.expire_leases(conn, now=datetime.now(UTC) + timedelta(days=1))
    assert released == 0
    assert await db.fetchval("SELECT state FROM lead WHERE id = $1", lead_ids[0]) == "claimed"


async def test_a_takeover_follows_a_dead_engines_live_call_and_closes_its_lost_one(db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db, operators_n=0)
    lead_ids, attempt_ids = await left_open(db, campaign_id, 2, engine="engine-dead")
    pbx = FakePbx()
    pbx.live.add(channel_id_of(attempt_ids[1]))
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        report = await engine.recovery.recover("engine-dead")
        assert (report.reattached, report.lost) == ([attempt_ids[1]], [attempt_ids[0]])
        await engine.recorder.drain()
        assert await db.fetchval("SELECT claimed_by FROM lead WHERE id = $1", lead_ids[1]) == "engine-1"
        pbx.emit(OriginateResult(channel_id_of(attempt_ids[1]), False, 5))    # the call ends busy
        await engine.recorder.drain()
        rows = {r["id"]: r for r in await db.fetch("SELECT id, state, claimed_by FROM lead")}
        assert rows[lead_ids[0]]["state"] != "claimed" and rows[lead_ids[1]]["state"] != "claimed"
        outcomes = dict(await db.fetch("SELECT id, outcome FROM attempt"))
        assert (outcomes[attempt_ids[0]], outcomes[attempt_ids[1]]) == ("lost", "busy")
    finally:
        await engine.stop(drain_s=0)


@pytest.fixture
async def one_call_ringing(db: asyncpg.Pool) -> AsyncIterator[tuple[Engine, FakePbx, str]]:
    """One operator, one call ringing: (engine, pbx, the call's channel id)."""
    await make_campaign(db, operators_n=1, leads_n=1)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) == 1)
        yield engine, pbx, pbx.customer_calls()[0].channel_id
    finally:
        await engine.stop(drain_s=0)


async def test_after_a_reconnect_a_call_answered_meanwhile_is_handed_off(
        one_call_ringing: tuple[Engine, FakePbx, str]) -> None:
    _, pbx, channel = one_call_ringing
    pbx.where[channel] = ("Up", "dialer-answered", "s")    # answered while the link was down
    pbx.emit(LinkUp())
    await until(lambda: (channel, "operator-join", "101") in pbx.redirects)


async def test_after_a_reconnect_a_call_the_dialplan_sent_to_the_message_is_abandoned(
        one_call_ringing: tuple[Engine, FakePbx, str]) -> None:
    engine, pbx, channel = one_call_ringing
    pbx.where[channel] = ("Up", "dialer-safeharbor", "s")
    pbx.emit(LinkUp())
    await until(lambda: engine.stats.abandoned == 1)
    [operator] = engine.floor.operators.values()
    assert operator.state is OperatorState.READY


async def test_an_answered_call_found_after_a_restart_with_no_free_operator_hears_the_message_at_once(
        db: asyncpg.Pool) -> None:
    campaign_id = await campaign_with_leads(db, operators_n=0)
    _, [attempt] = await left_open(db, campaign_id, 1)
    pbx = FakePbx()
    pbx.live.add(channel_id_of(attempt))
    pbx.where[channel_id_of(attempt)] = ("Up", "dialer-answered", "s")   # answered some time < 2 s ago
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: (channel_id_of(attempt), "dialer-safeharbor", "s") in pbx.redirects, timeout=1.0)
        assert engine.stats.abandoned == 1
    finally:
        await engine.stop(drain_s=0)


async def test_a_call_the_dialplan_gave_up_on_while_waiting_is_abandoned(
        one_call_ringing: tuple[Engine, FakePbx, str]) -> None:
    engine, pbx, channel = one_call_ringing
    [operator] = engine.floor.operators.values()
    engine.floor.set_state(operator, OperatorState.PAUSED, 0.0)           # nobody free: the call waits
    pbx.emit(CallAnswered(channel))
    pbx.emit(NoOperatorInTime(channel))                                   # the dialplan's own deadline came first
    pbx.emit(ChannelHungUp(channel, 16))
    await engine.recorder.drain()
    row = await engine.db.fetchrow("SELECT outcome, abandoned FROM attempt")
    assert (row["outcome"], row["abandoned"]) == ("abandoned", True)


async def test_a_call_whose_redirect_came_after_the_dialplan_deadline_is_connected_but_counted_abandoned(
        one_call_ringing: tuple[Engine, FakePbx, str]) -> None:
    engine, pbx, channel = one_call_ringing
    pbx.emit(CallAnswered(channel))                                       # handed to the free operator
    pbx.emit(NoOperatorInTime(channel))                                   # ... but the Redirect was late
    pbx.emit(ConferenceJoined("op101", channel))
    [operator] = engine.floor.operators.values()
    assert operator.state is OperatorState.ON_CALL
    pbx.emit(ChannelHungUp(channel, 16))
    await engine.recorder.drain()
    row = await engine.db.fetchrow("SELECT outcome, abandoned FROM attempt")
    assert (row["outcome"], row["abandoned"]) == ("connected", True)
    [runner] = engine.runners.values()
    assert runner.ledger.counts(asyncio.get_running_loop().time()) == (1, 1)    # one answer, abandoned


async def test_a_connected_call_gone_while_the_link_was_down_ends_when_the_link_was_lost(
        one_call_ringing: tuple[Engine, FakePbx, str], db: asyncpg.Pool) -> None:
    """A PBX down 90 s in a call: the call was ended at the reconnect, 91 s of talk added."""
    engine, pbx, channel = one_call_ringing
    call = engine.calls[channel]
    pbx.emit(CallAnswered(channel))
    await until(lambda: bool(pbx.redirects))
    pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", channel))
    [operator] = engine.floor.operators.values()
    assert operator.state is OperatorState.ON_CALL and call.connected_at is not None
    pbx.emit(LinkDown("connection reset"))
    lost_at = asyncio.get_running_loop().time()
    pbx.live.discard(channel)                    # the PBX restarted: the call is gone
    await asyncio.sleep(0.3)                     # the outage
    pbx.emit(LinkUp())
    await until(lambda: operator.state is OperatorState.WRAP_UP)
    assert operator.last_talk_s <= lost_at - call.connected_at + 1e-6
    await engine.recorder.drain()
    row = await db.fetchrow("SELECT connected_at, ended_at FROM attempt WHERE id = $1", call.attempt_id)
    assert (row["ended_at"] - row["connected_at"]).total_seconds() < 0.3


async def test_a_call_answered_told_the_message_and_gone_while_the_link_was_down_keeps_its_trace(
        one_call_ringing: tuple[Engine, FakePbx, str], db: asyncpg.Pool) -> None:
    """The link drops while the call rings; it is answered, the safety net plays the message, the callee
    presses 9 and hangs up before the link is back: the dialplan's trace makes it an abandon and the
    number do-not-call, as the UserEvents nobody heard would have."""
    engine, pbx, channel = one_call_ringing
    call = engine.calls[channel]
    pbx.emit(LinkDown("connection reset"))
    pbx.live.discard(channel)
    pbx.astdb[("dialer", str(call.attempt_id))] = f"opt-out {call.phone}"
    pbx.emit(LinkUp())
    await until(lambda: channel not in engine.calls)
    await engine.recorder.drain()
    row = await db.fetchrow("SELECT abandoned, answered_at FROM attempt WHERE id = $1", call.attempt_id)
    assert row["abandoned"] is True and row["answered_at"] is not None
    async with db.acquire() as conn:
        assert await compliance_store.is_dnc(conn, call.phone, call.campaign_id)
    await until(lambda: pbx.astdb == {})
