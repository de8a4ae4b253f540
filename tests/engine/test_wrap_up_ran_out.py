"""A wrap-up the engine ends by its timer (``wrap_up_max_s``) with no disposition chosen says so: the attempt
is coded ``no_code`` (finishing the lead until someone sets the real code, so it is neither lost nor dialed
again), the engine's log and the operator's picture entry name the attempt, and a code the console sends
afterwards replaces it. A code saved before the timer (Ctrl+S, staying in wrap-up) is never overwritten."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined
from dialer.commands import apply_command
from dialer.control import picture_doc
from dialer.engine import Engine
from dialer.floor import FloorOperator, OperatorState
from lists import campaigns
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def talking(db: asyncpg.Pool, wrap_up_max_s: float) -> tuple[Engine, FakePbx, FloorOperator, str]:
    """One operator on a call with a customer: the engine, the PBX, the operator and the call's channel."""
    await make_campaign(db, operators_n=1, leads_n=1)
    await db.execute(f"""UPDATE campaign SET pacing = '{{"wrap_up_max_s": {wrap_up_max_s}}}'""")
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    await until(lambda: len(pbx.customer_calls()) >= 1)
    first = pbx.customer_calls()[0]
    pbx.emit(CallAnswered(first.channel_id))
    await until(lambda: bool(pbx.redirects))
    pbx.emit(ConferenceJoined("op101", first.channel_id))
    operator = next(iter(engine.floor.operators.values()))
    assert operator.state is OperatorState.ON_CALL
    return engine, pbx, operator, first.channel_id


async def wrapping_up(db: asyncpg.Pool, wrap_up_max_s: float) -> tuple[Engine, FloorOperator, int]:
    """One operator, one call talked and hung up by the customer: the operator is in wrap-up."""
    engine, pbx, operator, channel_id = await talking(db, wrap_up_max_s)
    pbx.emit(ChannelHungUp(channel_id, 16))
    assert operator.state is OperatorState.WRAP_UP
    return engine, operator, int(channel_id.split("-")[1])


async def test_a_code_saved_during_the_call_ends_the_wrap_up_when_the_call_ends(db: asyncpg.Pool) -> None:
    """Seen by hand: an operator who coded the call while still talking sat in WRAP UP after the customer
    hung up, an empty screen and no calls, until the wrap-up's time (2 minutes) ran out. A code saved in
    the wrap-up ends it; one saved before it ends it as it begins (the store keeps both moves)."""
    engine, pbx, operator, channel_id = await talking(db, 60)
    attempt = int(channel_id.split("-")[1])
    try:
        assert await apply_command(engine, operator.id, "disposition", {"attempt_id": attempt, "code": "sale"}) is None
        assert operator.state is OperatorState.ON_CALL           # the customer is still there
        pbx.emit(ChannelHungUp(channel_id, 16))
        assert operator.state is OperatorState.READY
        await engine.recorder.drain()
        assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "sale"
        states = await db.fetch("SELECT state FROM operator_session WHERE operator_id = $1 ORDER BY id", operator.id)
        assert [r["state"] for r in states][-3:] == ["on_call", "wrap_up", "ready"]
    finally:
        await engine.stop(drain_s=0)


async def test_a_wrap_up_that_runs_out_codes_the_attempt_no_code_and_says_so(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    engine, operator, attempt = await wrapping_up(db, 0.3)
    try:
        await until(lambda: operator.state is OperatorState.READY)
        await engine.recorder.drain()
        await until(lambda: "no code" in caplog.text)
        row = await db.fetchrow("SELECT a.disposition, l.state FROM attempt a JOIN lead l ON l.id = a.lead_id "
                                "WHERE a.id = $1", attempt)
        assert (row["disposition"], row["state"]) == ("no_code", "done")
        assert f"attempt {attempt}" in caplog.text and operator.name in caplog.text
        assert caplog.text.count("with no code") == 1, caplog.text
        [entry] = picture_doc(engine)["operators"]
        assert entry["wrap_up_ran_out"] == attempt
        # the operator chooses the code afterwards, from the console still showing the call
        assert await apply_command(engine, operator.id, "disposition",
                                   {"attempt_id": attempt, "code": "not_interested"}) is None
        assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "not_interested"
        assert picture_doc(engine)["operators"][0]["wrap_up_ran_out"] is None
    finally:
        await engine.stop(drain_s=0)


async def test_a_code_saved_before_the_wrap_up_ran_out_is_kept(db: asyncpg.Pool) -> None:
    engine, operator, attempt = await wrapping_up(db, 0.5)
    try:
        assert await apply_command(engine, operator.id, "disposition",
                                   {"attempt_id": attempt, "code": "sale", "stay_in_wrap_up": True}) is None
        await until(lambda: operator.state is OperatorState.READY)
        await engine.recorder.drain()
        assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "sale"
        assert picture_doc(engine)["operators"][0]["wrap_up_ran_out"] is None
    finally:
        await engine.stop(drain_s=0)


async def test_no_code_is_a_system_code_the_manager_sees_among_the_calls_to_set(db: asyncpg.Pool) -> None:
    from lists import dispositions
    engine, operator, attempt = await wrapping_up(db, 0.2)
    try:
        await until(lambda: operator.state is OperatorState.READY)
        await engine.recorder.drain()
        await until(lambda: picture_doc(engine)["operators"][0]["wrap_up_ran_out"] == attempt)
        campaign = await campaigns.get(db, "c1")
        async with db.acquire() as conn:
            total, rows = await dispositions.to_set(conn, campaign_id=campaign.id)
            assert "no_code" in await dispositions.system_codes(conn)
        assert total == 1 and rows[0]["id"] == attempt
    finally:
        await engine.stop(drain_s=0)


async def test_ready_in_wrap_up_with_no_code_codes_the_call_no_code_too(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    """Found with a person at the console against a real Asterisk: F2 (Ready) in wrap-up ended it with the
    attempt's disposition left empty — neither a code nor among the calls a manager is shown to set."""
    caplog.set_level(logging.INFO)
    engine, operator, attempt = await wrapping_up(db, 60)
    try:
        assert await apply_command(engine, operator.id, "ready", {}) is None
        assert operator.state is OperatorState.READY
        await engine.recorder.drain()
        await until(lambda: "no code" in caplog.text)
        assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "no_code"
        assert "Ready" in caplog.text
        assert picture_doc(engine)["operators"][0]["wrap_up_ran_out"] == attempt
    finally:
        await engine.stop(drain_s=0)


async def test_an_engine_stop_in_the_middle_of_a_wrap_up_codes_the_call_no_code(db: asyncpg.Pool) -> None:
    """The stop logs the operator out; the console logged in again after the restart drops the last
    session's card, so a call stopped in wrap-up kept no code at all, and no list showed it."""
    engine, operator, attempt = await wrapping_up(db, 60)
    await db.execute("UPDATE operator SET simulated = false")
    operator.simulated = False     # a person: the stop logs them out
    await engine.stop(drain_s=0)
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) == "no_code"
