"""The views against a real engine and its control plane (in-memory PBX, real store): the snapshot the
engine publishes is the one the console and the watch view read, and their commands are the ones the
engine applies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest
from textual.widgets import DataTable, Select, Static

from ami.pbx import CallAnswered, ConferenceJoined
from dialer.clock import SystemClock
from dialer.commands import apply_command
from dialer.config import EngineConfig
from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.views.operator_console import OperatorConsole, find_operator
from dialer.views.watch import WatchApp
from lists import campaigns, operators, scripts
from tests.engine.fake_pbx import FakePbx
from tests.views.conftest import until

pytestmark = pytest.mark.db

CONFIG = EngineConfig(tick_s=0.02, operator_channel_template="Local/{ext}@operators")


@pytest.fixture
async def engine(pool: asyncpg.Pool) -> AsyncIterator[tuple[Engine, FakePbx]]:
    campaign = await campaigns.create(pool, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    anna = await operators.create(pool, name="Anna", extension="101")
    await operators.assign(pool, campaign_id=campaign.id, operator_ids=[anna.id])
    await pool.execute(
        """INSERT INTO lead (campaign_id, phone, timezone, fields)
           VALUES ($1, '+15550001234', 'UTC', '{"first_name": "Grace"}')""", campaign.id)
    await campaigns.set_state(pool, "c1", "running", actor="test", now=SystemClock().now())
    pbx = FakePbx()
    engine = Engine(pool, pbx, SystemClock(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, snapshot_s=0.1, poll_s=0.2)
    await control.start()
    try:
        yield engine, pbx
    finally:
        await control.close()
        await engine.stop(drain_s=0)


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
        pool: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    _, pbx = engine
    await scripts.store_script(pool, "c1", {"steps": {"hi": {"text": "Hello {first_name}!",
                                                             "answers": [{"label": "Not for me"}]}}})
    app = OperatorConsole(pool, await find_operator(pool, "Anna"), SystemClock())
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.click("#login")                   # the person logs in; the engine calls the phone
        await answer_first_call(pbx)
        await until(pilot, lambda: "Grace" in str(app.query_one("#card", Static).content))
        await until(pilot, lambda: "ON CALL" in str(app.query_one("#status", Static).content))
        assert str(app.query_one("#script-text", Static).content) == "Hello Grace!"
        await pilot.click("#answer-0")
        app.query_one("#disposition", Select).value = "not_interested"
        await pilot.click("#notes")
        await pilot.press(*"no")
        await pilot.click("#save")
        for _ in range(250):
            row = await pool.fetchrow(
                "SELECT disposition, notes, script_answers FROM attempt WHERE disposition IS NOT NULL")
            if row is not None:
                break
            await pilot.pause(0.02)
    assert row is not None and (row["disposition"], row["notes"]) == ("not_interested", "no")
    assert json.loads(row["script_answers"]) == {"path": [{"step": "hi", "answer": "Not for me"}], "fields": {}}
    command = await pool.fetchrow("SELECT done_at, result FROM operator_command")
    assert command["done_at"] is not None and command["result"] is None


async def test_the_watch_view_shows_the_engines_floor_and_pauses_an_operator(
        pool: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    eng, _ = engine
    [anna] = eng.floor.operators.values()
    assert await apply_command(eng, anna.id, "login", {}) is None
    app = WatchApp(pool, SystemClock(), campaign="c1")
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.query_one("#operators", DataTable)
        await until(pilot, lambda: table.row_count == 1 and str(table.get_row_at(0)[2]) == "ready")
        calls = app.screen_stack[0].query_one("#calls", Static)
        await until(pilot, lambda: "calls in flight: originating 1 " in str(calls.content))   # one per free operator
        await pilot.press("o")
        await until(pilot, lambda: str(table.get_row_at(0)[2]) == "paused (supervisor)")
    [operator] = eng.floor.operators.values()
    assert operator.state.value == "paused"
    args = json.loads(await pool.fetchval("SELECT args FROM operator_command"))
    assert args == {"reason": "supervisor"}
