"""The views against a real engine and its control plane (in-memory PBX, real store): the snapshot the
engine publishes is the one the console and the watch view read, and their commands are the ones the
engine applies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from textual.widgets import DataTable, Select, Static

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined
from dialer.clock import SystemClock
from dialer.commands import apply_command
from dialer.config import EngineConfig
from dialer.control import ControlPlane, picture_doc
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.views.console.status_bar import StatusBar
from dialer.views.operator_console import OperatorConsole, find_operator
from dialer.views.watch import WatchApp
from lists import campaigns, operators, scripts
from tests.engine.fake_pbx import FakePbx
from tests.views.conftest import until

pytestmark = pytest.mark.db

CONFIG = EngineConfig(tick_s=0.02, operator_channel_template="Local/{ext}@operators")


@asynccontextmanager
async def anna_on_the_floor(db: asyncpg.Pool, *, picture_s: float) -> AsyncIterator[tuple[Engine, FakePbx]]:
    """Campaign c1 running with one operator, Anna, and one lead, Grace; the engine and its control plane,
    which writes the whole picture every ``picture_s``."""
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    anna = await operators.create(db, name="Anna", extension="101")
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[anna.id])
    await db.execute(
        """INSERT INTO lead (campaign_id, phone, timezone, fields)
           VALUES ($1, '+15550001234', 'UTC', '{"first_name": "Grace"}')""", campaign.id)
    await campaigns.set_state(db, "c1", "running", actor="test", now=SystemClock().now())
    pbx = FakePbx()
    engine = Engine(db, pbx, SystemClock(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, picture_s=picture_s, poll_s=0.2)
    await control.start()
    try:
        yield engine, pbx
    finally:
        await control.close()
        await engine.stop(drain_s=0)


@pytest.fixture
async def engine(db: asyncpg.Pool) -> AsyncIterator[tuple[Engine, FakePbx]]:
    async with anna_on_the_floor(db, picture_s=0.1) as floor:
        yield floor


async def answer_first_call(pbx: FakePbx) -> None:
    async with asyncio.timeout(5):
        while not pbx.customer_calls():
            await asyncio.sleep(0.02)
    call = pbx.customer_calls()[0]
    pbx.emit(CallAnswered(call.channel_id))
    async with asyncio.timeout(5):
        while not pbx.redirects:
            await asyncio.sleep(0.01)
    pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", call.channel_id))


async def test_a_connected_call_reaches_the_console_and_its_disposition_reaches_the_attempt(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    _, pbx = engine
    await scripts.store_script(db, "c1", {"steps": {"hi": {"text": "Hello {first_name}!",
                                                             "answers": [{"label": "Not for me"}]}}})
    app = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock())
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.click("#login")                   # the person logs in; the engine calls the phone
        await answer_first_call(pbx)
        await until(pilot, lambda: "Grace" in str(app.query_one("#card", Static).content))
        await until(pilot, lambda: "ON CALL" in app.query_one(StatusBar).line())
        # the script panel composes its step after the card shows
        await until(pilot, lambda: str(app.query_one("#script-text", Static).content) == "Hello Grace!")
        await pilot.click("#answer-0")
        app.query_one("#disposition", Select).value = "not_interested"
        await pilot.click("#notes")
        await pilot.press(*"no")
        await pilot.click("#save")
        for _ in range(250):
            row = await db.fetchrow(
                "SELECT disposition, notes, script_answers FROM attempt WHERE disposition IS NOT NULL")
            if row is not None:
                break
            await pilot.pause(0.02)
    assert row is not None and (row["disposition"], row["notes"]) == ("not_interested", "no")
    assert json.loads(row["script_answers"]) == {"path": [{"step": "hi", "answer": "Not for me"}], "fields": {}}
    command = await db.fetchrow("SELECT done_at, result FROM operator_command")
    assert command["done_at"] is not None and command["result"] is None


async def test_the_watch_view_shows_the_engines_floor_and_pauses_an_operator(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    eng, _ = engine
    [anna] = eng.floor.operators.values()
    assert await apply_command(eng, anna.id, "login", {}) is None
    app = WatchApp(db, SystemClock(), campaign="c1")
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.query_one("#operators", DataTable)
        await until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[2]) == "ready")
        calls = app.screen_stack[0].query_one("#calls", Static)
        await until(pilot, lambda: "calls in flight: originating 1 " in str(calls.content))   # one per free operator
        await pilot.press("o")
        await until(pilot, lambda: str(table.get_row_at(0)[2]) == "paused (supervisor)")
    [operator] = eng.floor.operators.values()
    assert operator.state.value == "paused"
    args = json.loads(await db.fetchval("SELECT args FROM operator_command"))
    assert args == {"reason": "supervisor"}


async def in_wrap_up(eng: Engine, pbx: FakePbx) -> int:
    """Anna logs in, takes the first call, and the customer hangs up: she is in wrap-up; the attempt id."""
    [anna] = eng.floor.operators.values()
    assert await apply_command(eng, anna.id, "login", {}) is None
    await answer_first_call(pbx)
    channel = pbx.customer_calls()[0].channel_id
    pbx.emit(ChannelHungUp(channel, 16))
    async with asyncio.timeout(5):
        while anna.state is not OperatorState.WRAP_UP or channel in eng.calls:
            await asyncio.sleep(0.01)
    return int(channel.removeprefix("attempt-"))


async def test_a_console_opened_during_the_wrap_up_shows_the_call_and_sets_its_disposition(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    eng, pbx = engine
    attempt_id = await in_wrap_up(eng, pbx)
    [doc] = picture_doc(eng)["operators"]
    lead_id = await db.fetchval("SELECT lead_id FROM attempt WHERE id = $1", attempt_id)
    assert (doc["state"], doc["attempt_id"], doc["lead_id"]) == ("wrap_up", attempt_id, lead_id)
    app = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock())   # opened (or restarted) now
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: "Grace" in str(app.query_one("#card", Static).content))
        app.query_one("#disposition", Select).value = "not_interested"
        await pilot.press("ctrl+s")
        for _ in range(250):
            if await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id):
                break
            await pilot.pause(0.02)
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) == "not_interested"


async def test_logging_out_in_the_wrap_up_is_refused_until_the_disposition_is_saved(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    eng, pbx = engine
    attempt_id = await in_wrap_up(eng, pbx)
    [anna] = eng.floor.operators.values()
    refusal = await apply_command(eng, anna.id, "logout", {})
    assert refusal is not None and "disposition" in refusal
    assert anna.state is OperatorState.WRAP_UP and anna.attempt_id == attempt_id     # nothing lost
    assert await apply_command(eng, anna.id, "disposition", {"attempt_id": attempt_id, "code": "sale"}) is None
    assert await apply_command(eng, anna.id, "logout", {}) is None
    assert anna.state is OperatorState.OFFLINE
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) == "sale"


async def test_a_pause_taken_in_the_wrap_up_does_not_open_a_way_to_log_out_without_the_code(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    eng, pbx = engine
    attempt_id = await in_wrap_up(eng, pbx)
    [anna] = eng.floor.operators.values()
    assert await apply_command(eng, anna.id, "pause", {"reason": "coffee"}) is None
    refusal = await apply_command(eng, anna.id, "logout", {})
    assert refusal is not None and "disposition" in refusal
    assert anna.state is OperatorState.PAUSED and anna.attempt_id == attempt_id


async def test_a_lost_pbx_link_shows_on_the_watch_view_and_the_console_until_it_is_back(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    """Without it both views went on showing calls in flight and ready operators as if nothing were wrong
    while the engine could place no call."""
    eng, pbx = engine
    [anna] = eng.floor.operators.values()
    assert await apply_command(eng, anna.id, "login", {}) is None
    watch = WatchApp(db, SystemClock(), campaign="c1")
    async with watch.run_test(size=(200, 50)) as pilot:
        title = watch.screen_stack[0].query_one("#title", Static)
        await until(pilot, lambda: "c1 on " in str(title.content))
        assert "PBX" not in str(title.content)
        pbx.set_connected(False)
        await until(pilot, lambda: "PBX link down: asterisk-1" in str(title.content))
        pbx.set_connected(True)
        await until(pilot, lambda: "PBX" not in str(title.content))
    console = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock())
    async with console.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: "READY" in console.query_one(StatusBar).line())
        pbx.set_connected(False)
        await until(pilot, lambda: "PBX link down" in console.query_one(StatusBar).line())
        pbx.set_connected(True)
        await until(pilot, lambda: "PBX" not in console.query_one(StatusBar).line())
