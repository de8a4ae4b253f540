"""The engine paces a campaign group as one pool: no free operator is dialed for twice, reserved operators
are never dialed for, shares follow the weights and unused share flows to the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined, OriginateRequest
from dialer.control import ControlPlane, picture_doc
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.tuning import validate_pacing
from dialer.views.picture import parse_picture
from lists import campaigns, groups, operators
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, midday, settle, until

pytestmark = pytest.mark.db
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class AutoWorld(FakePbx):
    """Every call is answered after ``ring_s``, joins the operator it is redirected to, talks ``talk_s``;
    operators wrap up ``wrap_s``. Records how many operators were free when each call was originated."""

    def __init__(self, *, ring_s: float = 0.05, talk_s: float = 0.25, wrap_s: float = 0.05) -> None:
        super().__init__()
        self.ring_s, self.talk_s, self.wrap_s = ring_s, talk_s, wrap_s
        self.engine: Engine | None = None

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        engine.wrap_up_listeners.append(
            lambda op: asyncio.get_running_loop().call_later(self.wrap_s, engine.wrap_up_done, op))

    async def originate(self, request: OriginateRequest) -> None:
        await super().originate(request)
        if request.channel_id.startswith("attempt-"):
            asyncio.get_running_loop().call_later(self.ring_s, self.emit, CallAnswered(request.channel_id))

    async def redirect(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        await super().redirect(channel_id, context, exten, priority)
        loop = asyncio.get_running_loop()
        if context == "operator-join":
            loop.call_soon(self.emit, ConferenceJoined(f"op{exten}", channel_id))
            loop.call_later(self.talk_s, self.emit, ChannelHungUp(channel_id, 16))
        else:
            loop.call_later(0.01, self.emit, ChannelHungUp(channel_id, 16))


class HeldPbx(FakePbx):
    """Operators log in, but the engine places no call until the test lets it (``held = False``)."""
    held = True

    @property
    def connected(self) -> bool:
        return not self.held


async def make_group(db: asyncpg.Pool, *, operators_n: int, leads: dict[str, int], shares: dict[str, float],
                     reserved: int = 0) -> dict[str, int]:
    """Campaigns sharing every operator, in one group; their ids by name."""
    ops = [await operators.create(db, name=f"op{i}", extension=str(101 + i), simulated=True)
           for i in range(operators_n)]
    await groups.create(db, "floor", reserved=reserved, actor="t", now=NOW, validate=validate_pacing)
    ids = {}
    for n, (name, count) in enumerate(leads.items()):
        campaign = await campaigns.create(db, name=name, channel_template="Local/{digits}@pstn",
                                          caller_id="+15550000000")
        ids[name] = campaign.id
        await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
        await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                               [(campaign.id, f"+1555{n}{i:06d}") for i in range(count)])
        await groups.set_member(db, "floor", name, share=shares[name], actor="t", now=NOW)
        await campaigns.set_state(db, name, "running", actor="t", now=NOW)
    return ids


StartEngine = Callable[[FakePbx], Awaitable[Engine]]


@pytest.fixture
async def start_engine(db: asyncpg.Pool) -> AsyncIterator[StartEngine]:
    """Start an engine on this PBX (an AutoWorld plays its calls); stopped after the test."""
    started: list[Engine] = []

    async def start(pbx: FakePbx) -> Engine:
        engine = Engine(db, pbx, midday(), CONFIG)
        if isinstance(pbx, AutoWorld):
            pbx.attach(engine)
        started.append(engine)
        await engine.start()
        return engine

    yield start
    for engine in started:
        await engine.stop(drain_s=0)


def calls_of(pbx: FakePbx, campaign_id: int, ids: dict[str, int]) -> int:
    """Customer calls originated for one campaign (lead phones carry the campaign's index)."""
    index = list(ids.values()).index(campaign_id)
    return sum(1 for r in pbx.customer_calls() if r.channel.startswith(f"Local/1555{index}"))


async def test_two_campaigns_sharing_two_operators_place_two_calls_not_four(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    ids = await make_group(db, operators_n=2, leads={"sales": 20, "survey": 20}, shares={"sales": 1, "survey": 1})
    pbx = FakePbx()
    engine = await start_engine(pbx)
    await until(lambda: len(pbx.customer_calls()) >= 2)
    await settle(0.3)
    assert len(pbx.customer_calls()) == 2       # each campaign alone would have counted both operators
    assert not any(r.running for r in engine.runners.values())       # the members' own loops do not run
    assert set(engine.groups.group_of) == set(ids.values())


async def test_reserved_operators_are_not_dialed_for_and_an_answer_waits_rather_than_take_one(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    await make_group(db, operators_n=3, leads={"sales": 20, "survey": 20}, shares={"sales": 1, "survey": 1},
                     reserved=1)
    await db.execute("UPDATE campaign SET safe_harbor_s = 0.5")
    pbx = FakePbx()
    engine = await start_engine(pbx)
    await until(lambda: len(pbx.customer_calls()) >= 2)
    await settle(0.3)
    assert len(pbx.customer_calls()) == 2       # 3 free operators, 1 kept free
    # Two are reserved from now on: the first answer still finds 3 free, the second only the 2 reserved ones.
    await groups.set_settings(db, "floor", reserved=2, actor="t", now=NOW, validate=validate_pacing)
    await engine.groups.sync()
    first, second = pbx.customer_calls()
    pbx.emit(CallAnswered(first.channel_id))
    pbx.emit(CallAnswered(second.channel_id))
    await until(lambda: {channel for channel, _, _ in pbx.redirects} >= {first.channel_id, second.channel_id})
    contexts = {channel: context for channel, context, _ in pbx.redirects}
    assert contexts == {first.channel_id: "operator-join", second.channel_id: "dialer-safeharbor"}
    assert sum(o.state is OperatorState.READY for o in engine.floor.operators.values()) == 2
    assert len(pbx.customer_calls()) == 2       # nothing more is dialed while only reserved operators are free


async def test_a_70_30_group_shares_operator_time_and_never_dials_beyond_the_pool(db: asyncpg.Pool) -> None:
    ids = await make_group(db, operators_n=4, leads={"sales": 400, "survey": 400},
                           shares={"sales": 70, "survey": 30})
    world = AutoWorld()
    engine = Engine(db, world, midday(), CONFIG)
    world.attach(engine)
    over: list[int] = []
    stopping = False     # stop() logs the operators out while calls are still up

    def watch_supply() -> None:
        """Calls not yet with an operator never outnumber the free operators (progressive, one pool)."""
        pending = sum(1 for c in engine.calls.values() if c.operator_id is None and c.alive)
        free = sum(o.state is OperatorState.READY for o in engine.floor.operators.values())
        if pending > free and not stopping:
            over.append(pending - free)

    engine.floor.subscribe(lambda *_: watch_supply())
    await engine.start()
    try:
        await shares_follow_weights(engine, ids)
    finally:
        stopping = True
        await engine.stop(drain_s=0)
    assert over == []


async def shares_follow_weights(engine: Engine, ids: dict[str, int]) -> None:
    group_runner = next(iter(engine.groups.runners.values()))
    loop = asyncio.get_running_loop()
    await until(lambda: sum(group_runner.used_s(loop.time()).values()) > 40, timeout=40)
    used = group_runner.used_s(loop.time())
    sales = used[str(ids["sales"])] / sum(used.values())
    assert 0.60 <= sales <= 0.80, f"sales had {100 * sales:.1f} % of the handle time, target 70 %"
    # what the supervisor's pool panel shows: the same share, from the engine's published snapshot
    [shown] = parse_picture([picture_doc(engine)]).pools
    realized = shown.realized_shares()[ids["sales"]]
    assert 0.60 <= realized <= 0.80
    assert [m.target_share for m in shown.members] == [pytest.approx(0.7), pytest.approx(0.3)]
    assert shown.logged_in == 4 and shown.free + shown.busy == 4
    assert sum(m.placed for m in shown.members) == len(engine.pbx.customer_calls())  # type: ignore[attr-defined]


async def test_when_one_campaign_runs_dry_its_share_flows_to_the_other(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    ids = await make_group(db, operators_n=3, leads={"sales": 300, "survey": 3}, shares={"sales": 30, "survey": 70})
    world = AutoWorld()
    engine = await start_engine(world)
    await until(lambda: calls_of(world, ids["survey"], ids) == 3)
    await until(lambda: calls_of(world, ids["sales"], ids) >= 30, timeout=20)
    # with the survey's list done, the whole pool works for sales: all three operators get its calls
    await engine.recorder.drain()
    talked = await db.fetchval("SELECT count(DISTINCT operator_id) FROM attempt WHERE campaign_id = $1 "
                                 "AND connected_at IS NOT NULL", ids["sales"])
    assert talked == 3


async def test_group_changes_reach_the_running_engine_within_a_second(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    ids = await make_group(db, operators_n=2, leads={"sales": 5, "survey": 5}, shares={"sales": 1, "survey": 1})
    engine = await start_engine(FakePbx())
    control = ControlPlane(engine, picture_s=None, poll_s=30.0)   # only NOTIFY can bring it in time
    await control.start()
    try:
        group_runner = engine.groups.runners[engine.groups.group_of[ids["sales"]]]
        async with db.acquire() as conn, conn.transaction():
            await groups.set_settings(conn, "floor", reserved=1, pacing={"target_abandon": 0.02}, actor="t",
                                      now=NOW, validate=validate_pacing)
            await groups.set_member(conn, "floor", "sales", share=3, priority=2, actor="t", now=NOW)
        await until(lambda: engine.floor.reserves[ids["sales"]].count == 1)
        assert group_runner.group.member(ids["sales"]).share == 3
        assert engine.runners[ids["survey"]].settings.target_abandon == 0.02    # the group's default
        await groups.remove_member(db, "floor", "survey", actor="t", now=NOW)
        await until(lambda: engine.runners[ids["survey"]].running)  # paces alone again
        assert ids["survey"] not in engine.groups.group_of
        assert engine.runners[ids["survey"]].settings.target_abandon == 0.025
    finally:
        await control.close()


async def test_a_group_ledger_counts_every_members_answers_from_the_store_and_live(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    ids = await make_group(db, operators_n=2, leads={"sales": 5, "survey": 5}, shares={"sales": 1, "survey": 1})
    # an abandoned answer of the survey an hour ago (before the engine started) is in the legal window
    lead = await db.fetchval("SELECT id FROM lead WHERE campaign_id = $1 LIMIT 1", ids["survey"])
    await db.execute(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, answered_at, ended_at,
                                outcome, abandoned, state)
           VALUES ($1, $2, 'x', 'y', 'old', $3, $3, $3, 'abandoned', true, 'ended')""",
        lead, ids["survey"], datetime(2026, 11, 25, 11, 0, tzinfo=UTC))
    await groups.set_settings(db, "floor", group_ledger=True, actor="t", now=NOW, validate=validate_pacing)
    pbx = FakePbx()
    engine = await start_engine(pbx)
    group_runner = engine.groups.runners[engine.groups.group_of[ids["sales"]]]
    loop = asyncio.get_running_loop()
    assert group_runner.ledger is not None and group_runner.ledger.counts(loop.time()) == (1, 1)
    await until(lambda: len(pbx.customer_calls()) == 2)
    for request in pbx.customer_calls():
        pbx.emit(CallAnswered(request.channel_id))
        pbx.emit(ConferenceJoined("x", request.channel_id))
        pbx.emit(ChannelHungUp(request.channel_id, 16))
    assert group_runner.ledger.counts(loop.time()) == (3, 1)        # both campaigns' answers, one pool
    assert sum(engine.runners[i].ledger.counts(loop.time())[0] for i in ids.values()) == 3
    await groups.set_settings(db, "floor", group_ledger=False, actor="t", now=NOW, validate=validate_pacing)
    await engine.groups.sync()
    assert group_runner.ledger is None and all(r.ledger.group is None for r in engine.runners.values())


async def test_a_campaign_gets_no_more_calls_than_the_operators_who_work_it_can_take(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    ids = await make_group(db, operators_n=2, leads={"sales": 20, "survey": 20}, shares={"sales": 70, "survey": 30})
    # op0 works only sales, op1 only survey
    await db.execute("""DELETE FROM campaign_operator co USING operator o WHERE o.id = co.operator_id
                          AND ((o.name = 'op0' AND co.campaign_id = $1) OR (o.name = 'op1' AND co.campaign_id = $2))""",
                       ids["survey"], ids["sales"])
    await db.execute("UPDATE campaign SET safe_harbor_s = 0.5")
    pbx = HeldPbx()
    engine = await start_engine(pbx)
    group_runner = engine.groups.runners[engine.groups.group_of[ids["sales"]]]
    await until(lambda: all(o.state is OperatorState.READY for o in engine.floor.operators.values()))
    group_runner.meter.add(asyncio.get_running_loop().time(), str(ids["survey"]), 1000.0)   # sales far behind
    pbx.held = False
    group_runner.wake()
    await until(lambda: len(pbx.customer_calls()) >= 2)
    await settle(0.3)
    assert (calls_of(pbx, ids["sales"], ids), calls_of(pbx, ids["survey"], ids)) == (1, 1)
    answered = {request.channel_id for request in pbx.customer_calls()}
    for channel in answered:
        pbx.emit(CallAnswered(channel))
    await until(lambda: {channel for channel, _, _ in pbx.redirects} >= answered)
    assert {context for _, context, _ in pbx.redirects} == {"operator-join"}    # nobody waited in vain


async def test_campaigns_sharing_operators_outside_a_group_are_named_in_a_warning(
        db: asyncpg.Pool, start_engine: StartEngine, caplog: pytest.LogCaptureFixture) -> None:
    await make_group(db, operators_n=1, leads={"sales": 1, "survey": 1}, shares={"sales": 1, "survey": 1})
    await db.execute("UPDATE campaign SET group_id = NULL")
    with caplog.at_level("WARNING", logger="dialer.groups.membership"):
        await start_engine(FakePbx())
    assert "campaign survey shares operators with sales but is in no campaign group with them" in caplog.text


async def test_a_group_wait_or_busy_target_gets_a_pool_controller_that_follows_live_changes(
        db: asyncpg.Pool, start_engine: StartEngine) -> None:
    ids = await make_group(db, operators_n=2, leads={"sales": 5, "survey": 5}, shares={"sales": 1, "survey": 1})
    await groups.set_settings(db, "floor", pacing={"optimize": "busy", "optimize_target": 0.85}, actor="t",
                              now=NOW, validate=validate_pacing)
    engine = await start_engine(FakePbx())
    group_runner = engine.groups.runners[engine.groups.group_of[ids["sales"]]]
    assert group_runner.target is not None and group_runner.target.optimize == "busy"
    assert engine.runners[ids["sales"]].settings.optimize == "busy"          # the group's default
    await groups.set_settings(db, "floor", pacing={"optimize": "wait", "optimize_target": 8.0}, actor="t",
                              now=NOW, validate=validate_pacing)
    await engine.groups.sync()
    assert group_runner.target is not None and (group_runner.target.optimize, group_runner.target.target) == (
        "wait", 8.0)
    await groups.set_settings(db, "floor", pacing={"optimize": None, "optimize_target": None}, actor="t",
                              now=NOW, validate=validate_pacing)
    await engine.groups.sync()
    assert group_runner.target is None                 # abandonment alone, per campaign
