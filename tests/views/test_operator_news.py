"""An operator's change reaches their console at once, not with the engine's next picture: the engine
sends the changed entry on the operator's own channel (``dialer/bus.py``) and the console's feed lays it
over the last picture until a newer picture catches up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from textual.widgets import Static

from dialer.bus import operator_channel
from dialer.clock import SystemClock
from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.floor import OperatorState as FloorState
from dialer.views import customer
from dialer.views.console.status_bar import StatusBar
from dialer.views.feed import PictureFeed
from dialer.views.operator_console import OperatorConsole, find_operator
from dialer.views.picture import FloorPicture
from lists import campaigns, operators
from tests.engine.fake_pbx import FakePbx
from tests.views.conftest import ENGINE, NOW, Scene, campaign_doc, operator_doc, publish, snapshot, until
from tests.views.test_with_engine import CONFIG, anna_on_the_floor, answer_first_call

pytestmark = pytest.mark.db

HOUR = 3600.0   # the whole picture once an hour: whatever reaches the console in seconds came as news


@pytest.fixture
async def engine(db: asyncpg.Pool) -> AsyncIterator[tuple[Engine, FakePbx]]:
    async with anna_on_the_floor(db, picture_s=HOUR) as floor:
        yield floor


async def test_a_call_handed_to_the_operator_reaches_the_console_without_waiting_for_a_snapshot(
        db: asyncpg.Pool, engine: tuple[Engine, FakePbx]) -> None:
    _, pbx = engine
    app = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock())
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.click("#login")
        await answer_first_call(pbx)
        await until(pilot, lambda: "Grace" in str(app.query_one("#card", Static).content))
        await until(pilot, lambda: "ON CALL" in app.query_one(StatusBar).line())
    assert await db.fetchval("SELECT count(*) FROM engine_picture") == 0   # no picture was written


async def news(db: asyncpg.Pool, scene: Scene, state: str, *, seconds: float, schema: str | None = None) -> None:
    """What the engine sends when the operator changes, ``seconds`` after the snapshot's moment."""
    schema = schema or str(await db.fetchval("SELECT current_schema()"))
    payload = {"schema": schema, "engine": ENGINE, "at": (NOW + timedelta(seconds=seconds)).isoformat(),
               "operator": operator_doc(scene, state)}
    await db.execute("SELECT pg_notify($1, $2)", operator_channel(scene.operator_id), json.dumps(payload))


async def until_state(seen: list[FloorPicture], state: str) -> None:
    async with asyncio.timeout(5):
        while not seen or seen[-1].operators[0].state != state:
            await asyncio.sleep(0.02)


async def test_news_of_the_operator_is_laid_over_the_snapshot_until_a_newer_snapshot_comes(
        db: asyncpg.Pool, scene: Scene) -> None:
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append, operator_id=scene.operator_id)
    await feed.start()
    try:
        await news(db, scene, "reserved", seconds=0.5)
        await until_state(seen, "reserved")
        assert [c.name for c in seen[-1].campaigns] == ["winter"]          # the rest of the snapshot stays
        # a snapshot written before the news, read after it: its figures count, its entry of Anna does not
        busier = campaign_doc(scene, calls={"connected": 6})
        await publish(db, {**snapshot([busier], [operator_doc(scene, "ready")]),
                             "at": (NOW + timedelta(seconds=0.2)).isoformat()})
        async with asyncio.timeout(5):
            while seen[-1].campaigns[0].calls.get("connected") != 6:
                await asyncio.sleep(0.02)
        assert seen[-1].operators[0].state == "reserved"
        await publish(db, {**snapshot([busier], [operator_doc(scene, "wrap_up")]),
                             "at": (NOW + timedelta(seconds=1)).isoformat()})
        await until_state(seen, "wrap_up")                                  # a newer snapshot wins
    finally:
        await feed.stop()


async def test_news_from_another_store_on_the_same_server_is_ignored(db: asyncpg.Pool, scene: Scene) -> None:
    await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append, operator_id=scene.operator_id)
    await feed.start()
    try:
        await news(db, scene, "on_call", seconds=0.5, schema="another_store")
        await news(db, scene, "paused", seconds=0.6)
        await until_state(seen, "paused")
    finally:
        await feed.stop()
    assert [f.operators[0].state for f in seen] == ["ready", "paused"]


async def test_a_console_reads_only_its_operators_entry_of_the_snapshot(db: asyncpg.Pool, scene: Scene) -> None:
    others = [{**operator_doc(scene, "ready"), "id": scene.operator_id + n, "name": f"Op{n}"} for n in range(1, 50)]
    await publish(db, snapshot([campaign_doc(scene)], [*others, operator_doc(scene, "paused")]))
    seen: list[FloorPicture] = []
    feed = PictureFeed(db, seen.append, operator_id=scene.operator_id)
    await feed.start()
    await feed.stop()
    assert [(o.name, o.state) for o in seen[-1].operators] == [("Anna", "paused")]


async def test_a_burst_of_changes_goes_out_once_per_operator_with_the_latest_entry(db: asyncpg.Pool) -> None:
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    people = [await operators.create(db, name=f"Op{n}", extension=str(200 + n)) for n in range(20)]
    robot = await operators.create(db, name="Robot", extension="299", simulated=True)
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in [*people, robot]])
    await campaigns.set_state(db, "c1", "running", actor="test", now=SystemClock().now())   # no leads: no calls
    engine = Engine(db, FakePbx(), SystemClock(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, picture_s=HOUR, poll_s=HOUR)
    await control.start()
    heard: dict[str, list[dict[str, object]]] = {}

    def hear(_conn: object, _pid: int, channel: str, payload: str) -> None:
        heard.setdefault(channel, []).append(json.loads(payload)["operator"])

    listener = await db.acquire()
    try:
        for operator in [*people, robot]:
            await listener.add_listener(operator_channel(operator.id), hear)
        now = asyncio.get_running_loop().time()
        for operator in engine.floor.operators.values():          # one loop iteration: a burst
            engine.floor.set_state(operator, FloorState.PAUSED, now)
            engine.floor.set_state(operator, FloorState.LOGGING_IN, now)
        assert len(engine.floor.operators) == len(people) + 1
        async with asyncio.timeout(5):
            while len(heard) < len(people):
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)                                   # anything more would come now
    finally:
        for operator in [*people, robot]:
            await listener.remove_listener(operator_channel(operator.id), hear)
        await db.release(listener)
        await control.close()
        await engine.stop(drain_s=0)
    assert sorted(heard) == sorted(operator_channel(o.id) for o in people)   # the simulated one has no console
    assert all([entry["state"] for entry in entries] == ["logged_in"] for entries in heard.values())


async def test_a_console_closed_while_a_call_is_read_closes_cleanly(
        db: asyncpg.Pool, scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    """News makes the console read more often: a page closed during a read must not end in a traceback."""
    reading, release = asyncio.Event(), asyncio.Event()
    real_card = customer.customer_card

    async def slow_card(*args: object) -> object:
        reading.set()
        await release.wait()
        return await real_card(*args)   # type: ignore[arg-type]

    monkeypatch.setattr(customer, "customer_card", slow_card)
    app = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock())
    async with app.run_test(size=(160, 48)):
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "on_call")]))
        async with asyncio.timeout(10):
            await reading.wait()
        app.exit()                      # the page closes while the card is read
        release.set()
    assert app.return_code in (0, None)
