"""Several engines on one store: each campaign runs on exactly one of them, and a survivor takes over a
dead or stuck owner's campaign within 10 s (wall clock: PostgreSQL's lock release and the heartbeat's
staleness are the database's time), dialing nobody twice and losing no lead."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from ami.pbx import OriginateResult
from dialer.engine import Engine
from dialer.ownership.campaigns import CampaignOwnership, OwnershipSettings
from lists import campaigns, database
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db

FAST = OwnershipSettings(beat_s=0.3, stale_s=2.0)
TAKEOVER_S = 10.0


class Node:
    """One engine process: its own pool, its own PBX link."""

    def __init__(self, db: asyncpg.Pool, name: str) -> None:
        self.db = db
        self.pbx = FakePbx()
        self.engine = Engine(db, self.pbx, midday(), CONFIG.__class__(**{**CONFIG.__dict__, "name": name}))
        self.ownership = CampaignOwnership(self.engine, FAST)
        self.dead = False

    async def start(self) -> None:
        await self.ownership.start()
        await self.engine.start()

    def dialed(self) -> list[str]:
        return [r.channel for r in self.pbx.customer_calls()]

    async def kill(self) -> None:
        """kill -9: the connections drop (PostgreSQL frees the locks) and none of its code runs again."""
        self.dead = True
        self.db.terminate()
        engine = self.engine
        tasks = [r._task for r in engine.runners.values()] + [engine.recorder._task]   # the heartbeat: engine._tasks
        tasks += list(engine._tasks._tasks) + list(self.ownership._tasks._tasks)
        for task in tasks:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)

    async def stop(self) -> None:
        if not self.dead:
            await self.engine.stop(drain_s=0)
            await self.db.close()


@pytest.fixture
async def two_pools(store_schema: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    url, schema = store_schema
    first = await database.open_db(url, search_path=schema)
    second = await database.open_db(url, search_path=schema)
    yield first, second
    for db in (first, second):
        if not db._closed:
            await db.close()


@pytest.fixture
async def owner_and_spare(two_pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> AsyncIterator[tuple[Node, Node, int]]:
    """Engine A started first and dialing its campaign; engine B started second, on the same store."""
    a, b = Node(two_pools[0], "engine-a"), Node(two_pools[1], "engine-b")
    campaign_id = await make_campaign(a.db, operators_n=2, leads_n=10)
    try:
        await a.start()
        await b.start()
        await until(lambda: len(a.dialed()) >= 2)
        yield a, b, campaign_id
    finally:
        await b.stop()
        await a.stop()


async def test_a_campaign_runs_on_one_engine_only(owner_and_spare: tuple[Node, Node, int]) -> None:
    a, b, campaign_id = owner_and_spare
    await asyncio.sleep(3 * FAST.beat_s)
    assert a.ownership.owns(campaign_id) and campaign_id in a.engine.runners
    assert not b.ownership.owns(campaign_id) and campaign_id not in b.engine.runners
    assert b.dialed() == [] and b.pbx.originated == []      # not even its operators' phones


async def test_a_killed_owner_is_taken_over_within_10_s_without_double_dialing(
        owner_and_spare: tuple[Node, Node, int]) -> None:
    a, b, campaign_id = owner_and_spare
    await a.engine.recorder.drain()
    await a.kill()                  # its two calls were ringing: the channels die with its PBX link
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    await until(lambda: b.ownership.owns(campaign_id) and len(b.dialed()) >= 2, timeout=TAKEOVER_S + 2)
    assert loop.time() - killed_at < TAKEOVER_S
    assert b.ownership.takeovers == 1
    assert not set(a.dialed()) & set(b.dialed()), "a number dialed by both engines"
    await b.engine.recorder.drain()
    rows = await b.db.fetch("SELECT id, engine, outcome, ended_at FROM attempt WHERE engine = 'engine-a'")
    assert len(rows) == 2 and all(r["outcome"] == "lost" and r["ended_at"] for r in rows)
    leads = await b.db.fetch("SELECT state, claimed_by FROM lead")
    assert len(leads) == 10
    assert not [r for r in leads if r["claimed_by"] == "engine-a"], "a lead left leased to the dead engine"
    assert sum(r["state"] == "claimed" for r in leads) == len(b.dialed())


async def test_a_stuck_owner_with_a_stale_heartbeat_loses_the_campaign_and_claims_nothing(
        owner_and_spare: tuple[Node, Node, int]) -> None:
    a, b, campaign_id = owner_and_spare
    # A's ownership beat stops (a blocked loop, a partition): its lock session stays open but silent.
    await a.ownership._tasks.cancel_all()
    loop = asyncio.get_running_loop()
    stuck_at = loop.time()
    await until(lambda: b.ownership.owns(campaign_id), timeout=TAKEOVER_S + 2)
    assert loop.time() - stuck_at < TAKEOVER_S
    # A wakes up and its two calls end busy: it wants two more, but its claim is fenced off and its
    # pacing loop stops.
    before = len(a.dialed())
    for request in a.pbx.customer_calls():
        a.pbx.emit(OriginateResult(request.channel_id, False, 5))
    await until(lambda: campaign_id not in a.engine.runners)
    assert len(a.dialed()) == before
    await until(lambda: len(b.dialed()) >= 2)
    assert not set(a.dialed()) & set(b.dialed())


async def test_calls_of_a_killed_owner_still_on_the_shared_pbx_are_followed_by_the_new_owner_not_redialed(
        owner_and_spare: tuple[Node, Node, int]) -> None:
    a, b, campaign_id = owner_and_spare
    await a.engine.recorder.drain()
    ringing = [r.channel_id for r in a.pbx.customer_calls()]
    await a.kill()
    b.pbx.live |= a.pbx.live       # one Asterisk for both engines: A's calls (and phones) go on there
    await until(lambda: campaign_id in b.engine.runners, timeout=TAKEOVER_S + 2)   # recovered, then running
    assert all(channel in b.engine.calls for channel in ringing)
    await asyncio.sleep(5 * FAST.beat_s)
    assert not set(a.dialed()) & set(b.dialed())
    rows = await b.db.fetch("SELECT engine, ended_at FROM attempt WHERE id = ANY($1::bigint[])",
                              [int(c.split("-")[1]) for c in ringing])
    assert [(r["engine"], r["ended_at"]) for r in rows] == [("engine-b", None)] * 2
    assert not await b.db.fetchval("SELECT count(*) FROM lead WHERE claimed_by = 'engine-a'")


async def test_the_campaigns_of_a_group_are_owned_together_and_taken_over_together(
        two_pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    a, b = Node(two_pools[0], "engine-a"), Node(two_pools[1], "engine-b")
    first = await make_campaign(a.db, operators_n=2, leads_n=10)
    second = (await campaigns.create(a.db, name="c2", channel_template="Local/{digits}@pstn",
                                     caller_id="+15550000000")).id
    await a.db.execute("INSERT INTO campaign_operator (campaign_id, operator_id) "
                         "SELECT $1, operator_id FROM campaign_operator WHERE campaign_id = $2", second, first)
    await a.db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                             [(second, f"+1555100{i:04d}") for i in range(10)])
    group = await a.db.fetchval("INSERT INTO campaign_group (name) VALUES ('floor') RETURNING id")
    await a.db.execute("UPDATE campaign SET group_id = $1", group)
    try:
        await a.start()
        await b.start()
        await until(lambda: a.ownership.owned == [first])
        # c2 starts later: B may not take it while A runs c1 — they share the group's operators.
        await campaigns.set_state(a.db, "c2", "running", actor="test", now=datetime.now(UTC))
        assert not await b.ownership.acquire(second)
        await until(lambda: a.ownership.owned == sorted([first, second]))
        await asyncio.sleep(3 * FAST.beat_s)
        assert b.ownership.owned == [] and b.pbx.originated == []
        await a.kill()
        loop = asyncio.get_running_loop()
        killed_at = loop.time()
        await until(lambda: b.ownership.owned == sorted([first, second]), timeout=TAKEOVER_S + 2)
        assert loop.time() - killed_at < TAKEOVER_S
    finally:
        await b.stop()
        await a.stop()


async def test_a_takeover_waits_to_dial_until_the_pbx_can_say_which_calls_of_the_dead_owner_are_alive(
        owner_and_spare: tuple[Node, Node, int]) -> None:
    a, b, campaign_id = owner_and_spare
    await a.engine.recorder.drain()
    ringing = [r.channel_id for r in a.pbx.customer_calls()]
    b.pbx.set_connected(False)      # B's AMI link is down when A dies
    await a.kill()
    await until(lambda: b.ownership.owns(campaign_id), timeout=TAKEOVER_S + 2)
    await asyncio.sleep(4 * FAST.beat_s)
    assert campaign_id not in b.engine.runners and b.dialed() == []
    open_rows = await b.db.fetchval("SELECT count(*) FROM attempt WHERE engine = 'engine-a' AND ended_at IS NULL")
    assert open_rows == len(ringing)           # nobody knows yet whether those people are on the line
    b.pbx.set_connected(True)                  # the link is back: recovered, then dialing
    await until(lambda: campaign_id in b.engine.runners and len(b.dialed()) >= 2, timeout=5)
    await b.engine.recorder.drain()
    assert not await b.db.fetchval("SELECT count(*) FROM attempt WHERE engine = 'engine-a' AND ended_at IS NULL")
    assert not set(a.dialed()) & set(b.dialed())


async def test_a_campaign_lost_to_a_store_outage_is_said_taken_back_when_the_store_returns(
        two_pools: tuple[asyncpg.Pool, asyncpg.Pool], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    """Seen on a live engine whose store went away for half a minute: the log said the campaign was no
    longer owned and its pacing loop stopped, and nothing when it took the campaign back and dialed again:
    whoever read the log believed the campaign stopped. A heartbeat that fails on a live connection (a
    slow store) gave that connection back still listening: asyncpg printed a warning nobody can read."""
    from dialer.store import ownership as rows
    caplog.set_level(logging.INFO)
    real_heartbeat, outage = rows.heartbeat, [ConnectionResetError("the store went away")]

    async def heartbeat(conn: asyncpg.Connection, name: str) -> object:
        if outage:
            raise outage.pop()
        return await real_heartbeat(conn, name)

    monkeypatch.setattr(rows, "heartbeat", heartbeat)
    node = Node(two_pools[0], "engine-a")
    campaign_id = await make_campaign(node.db, operators_n=1, leads_n=5)
    try:
        await node.start()
        await until(lambda: node.ownership.losses == 1 and node.ownership.owns(campaign_id), timeout=5)
        await until(lambda: "owned by this engine again" in caplog.text)
        lost, back = caplog.text.index("no longer owned"), caplog.text.index("owned by this engine again")
        assert lost < back and "campaign c1" in caplog.text[back - 60:back]
        assert not [w for w in recwarn if "notification listener" in str(w.message)]
    finally:
        await node.stop()
