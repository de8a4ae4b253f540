"""The engine against an in-memory PBX and a real store: pacing, hand-off and safe harbor as a user sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import asyncpg
import pytest

from ami.pbx import CallAnswered, CallRated, ChannelHungUp, ConferenceJoined, OptedOut, OriginateResult
from compliance import store as compliance_store
from dialer.call import channel_id_of
from dialer.clock import LoopClock
from dialer.commands import apply_command
from dialer.config import EngineConfig
from dialer.engine import Engine
from dialer.floor import OperatorState
from lists import callbacks, campaigns, operators
from tests.engine.fake_pbx import FakePbx

pytestmark = pytest.mark.db

CONFIG = EngineConfig(tick_s=0.02, operator_channel_template="Local/{ext}@operators")


async def make_campaign(db: asyncpg.Pool, *, operators_n: int, leads_n: int, mode: str = "progressive",
                        simulated: bool = True) -> int:
    """Its operators are simulated by default: the engine logs them in (people log in from the console)."""
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode=mode)
    ops = [await operators.create(db, name=f"op{i}", extension=str(101 + i), simulated=simulated)
           for i in range(operators_n)]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
    await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                           [(campaign.id, f"+1555000{i:04d}") for i in range(leads_n)])
    await campaigns.set_state(db, "c1", "running", actor="test", now=datetime.now(UTC))
    return campaign.id


@pytest.fixture
async def running(db: asyncpg.Pool) -> AsyncIterator[tuple[Engine, FakePbx]]:
    pbx = FakePbx()
    await make_campaign(db, operators_n=2, leads_n=10)
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        yield engine, pbx
    finally:
        await engine.stop(drain_s=0)


def midday() -> LoopClock:
    """A Wednesday noon: inside the default calling hours whatever the real time of the test run."""
    return LoopClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


async def settle(seconds: float = 0.15) -> None:
    await asyncio.sleep(seconds)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for what the test expects, on a loaded machine too; fail loudly if it never comes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the expected state never came"
        await asyncio.sleep(0.01)


async def test_progressive_places_one_call_per_free_operator(running: tuple[Engine, FakePbx]) -> None:
    _, pbx = running
    await until(lambda: len(pbx.customer_calls()) >= 2)
    await settle()
    assert len(pbx.customer_calls()) == 2
    await settle()
    assert len(pbx.customer_calls()) == 2          # ringing calls cover the free operators


async def test_an_answered_call_is_redirected_to_the_longest_idle_operator(running: tuple[Engine, FakePbx]) -> None:
    engine, pbx = running
    await until(lambda: len(pbx.customer_calls()) >= 1)
    first = pbx.customer_calls()[0]
    pbx.emit(CallAnswered(first.channel_id))
    # Same loop iteration: the operator is chosen from memory, the Redirect is on its way.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert pbx.redirects and pbx.redirects[0][:2] == (first.channel_id, "operator-join")
    extension = pbx.redirects[0][2]
    pbx.emit(ConferenceJoined(f"op{extension}", first.channel_id))
    call = engine.calls[first.channel_id]
    assert call.connected_at is not None and call.operator_id is not None


async def test_answer_with_no_free_operator_goes_to_the_safe_harbor_message(db: asyncpg.Pool) -> None:
    pbx = FakePbx()
    await make_campaign(db, operators_n=1, leads_n=5, mode="ratio")
    await db.execute("UPDATE campaign SET pacing = '{\"ratio\": 2.0}', safe_harbor_s = 0.5")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 2)
        first, second = pbx.customer_calls()[:2]
        pbx.emit(CallAnswered(first.channel_id))
        pbx.emit(CallAnswered(second.channel_id))
        await until(lambda: {channel for channel, _, _ in pbx.redirects} >= {first.channel_id, second.channel_id})
        contexts = {channel: context for channel, context, _ in pbx.redirects}
        assert contexts[first.channel_id] == "operator-join"
        assert contexts[second.channel_id] == "dialer-safeharbor"
        pbx.emit(ChannelHungUp(second.channel_id, 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, abandoned FROM attempt WHERE id = $1",
                                  int(second.channel_id.split("-")[1]))
        assert (row["outcome"], row["abandoned"]) == ("abandoned", True)
    finally:
        await engine.stop(drain_s=0)


async def test_no_call_is_placed_while_the_ami_link_is_down(db: asyncpg.Pool) -> None:
    pbx = FakePbx()
    await make_campaign(db, operators_n=2, leads_n=5)
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 2)
        pbx.set_connected(False)
        for request in pbx.customer_calls():
            pbx.emit(OriginateResult(request.channel_id, False, 5))
        await settle(0.3)
        assert len(pbx.customer_calls()) == 2
    finally:
        await engine.stop(drain_s=0)


async def test_a_busy_number_ends_its_attempt_busy_and_frees_the_line(running: tuple[Engine, FakePbx]) -> None:
    engine, pbx = running
    await until(lambda: len(pbx.customer_calls()) >= 2)
    first = pbx.customer_calls()[0]
    pbx.emit(OriginateResult(first.channel_id, False, 5))
    await until(lambda: len(pbx.customer_calls()) >= 3)
    await engine.recorder.drain()
    outcome = await engine.db.fetchval("SELECT outcome FROM attempt WHERE id = $1",
                                         int(first.channel_id.split("-")[1]))
    assert outcome == "busy"


async def test_a_restart_ends_attempts_whose_channel_is_gone_and_keeps_live_ones(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=0, leads_n=2)
    await db.execute("UPDATE campaign SET state = 'paused'")
    lead_ids = [r["id"] for r in await db.fetch("SELECT id FROM lead ORDER BY id")]
    await db.execute("UPDATE lead SET state = 'claimed', claimed_by = 'engine-1', attempts = 1")
    ids = [await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at)
           VALUES ($1, $2, '+15550001', '+15550000000', 'engine-1', now()) RETURNING id""", lead, campaign_id)
        for lead in lead_ids]
    pbx = FakePbx()
    pbx.live.add(channel_id_of(ids[1]))           # the second call still goes on in Asterisk
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    await engine.stop(drain_s=0)
    rows = {r["id"]: r for r in await db.fetch("SELECT id, outcome, ended_at FROM attempt")}
    assert rows[ids[0]]["outcome"] == "lost" and rows[ids[0]]["ended_at"] is not None
    assert rows[ids[1]]["ended_at"] is None
    states = {r["id"]: r["state"] for r in await db.fetch("SELECT id, state FROM lead")}
    assert states[lead_ids[0]] != "claimed"
    assert states[lead_ids[1]] == "claimed"


async def test_a_keypress_opt_out_puts_the_number_on_the_company_dnc_list(running: tuple[Engine, FakePbx]) -> None:
    engine, pbx = running
    await until(lambda: len(pbx.customer_calls()) >= 1)
    first = pbx.customer_calls()[0]
    phone = engine.calls[first.channel_id].phone
    pbx.emit(CallAnswered(first.channel_id))     # answered: a ringing call ends only with its OriginateResponse
    pbx.emit(OptedOut(first.channel_id))
    pbx.emit(ChannelHungUp(first.channel_id, 16))
    await engine.recorder.drain()
    rows = await engine.db.fetch("SELECT scope, source FROM dnc WHERE phone = $1", phone)
    assert [(r["scope"], r["source"]) for r in rows] == [("company", "opt-out:keypress")]
    lead_state = await engine.db.fetchval("SELECT state FROM lead WHERE phone = $1", phone)
    assert lead_state != "claimed"
    claimable = await engine.db.fetchval(
        "SELECT count(*) FROM lead l WHERE phone = $1 AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone)",
        phone)
    assert claimable == 0


async def test_the_operators_do_not_call_disposition_opts_the_number_out(running: tuple[Engine, FakePbx]) -> None:
    engine, pbx = running
    await until(lambda: len(pbx.customer_calls()) >= 1)
    first = pbx.customer_calls()[0]
    call = engine.calls[first.channel_id]
    pbx.emit(CallAnswered(first.channel_id))
    await until(lambda: bool(pbx.redirects))
    pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", first.channel_id))
    pbx.emit(ChannelHungUp(first.channel_id, 16))
    operator = engine.floor.operators[call.operator_id]
    assert operator.state is OperatorState.WRAP_UP
    await engine.recorder.drain()
    refused = await apply_command(engine, operator.id, "disposition",
                                  {"attempt_id": call.attempt_id, "code": "do_not_call"})
    assert refused is None
    await engine.recorder.drain()
    sources = [r["source"] for r in await engine.db.fetch("SELECT source FROM dnc WHERE phone = $1", call.phone)]
    assert sources == [f"opt-out:operator:{operator.name}"]
    assert operator.state is OperatorState.READY


async def test_a_lead_called_again_goes_to_the_operator_who_last_talked_to_them(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=2, leads_n=1)
    lead_id = await db.fetchval("SELECT id FROM lead")
    second = await db.fetchval("SELECT id FROM operator WHERE extension = '102'")
    await db.execute("UPDATE lead SET attempts = 1, category = 'retry' WHERE id = $1", lead_id)
    await db.execute(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, connected_at, ended_at,
                                operator_id, outcome)
           VALUES ($1, $2, '+15550000000', '+15550000000', 'engine-1', now(), now(), now(), $3, 'connected')""",
        lead_id, campaign_id, second)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 1)
        # operator 101 has been idle longer, but 102 talked to this person last time
        engine.floor.operators[second].since += 1000
        pbx.emit(CallAnswered(pbx.customer_calls()[0].channel_id))
        await until(lambda: bool(pbx.redirects))
        assert pbx.redirects[0][1:] == ("operator-join", "102")
    finally:
        await engine.stop(drain_s=0)


async def test_end_call_with_rating_sends_the_customer_to_the_menu_and_stores_the_score(
        running: tuple[Engine, FakePbx]) -> None:
    engine, pbx = running
    await until(lambda: len(pbx.customer_calls()) >= 1)
    first = pbx.customer_calls()[0]
    call = engine.calls[first.channel_id]
    pbx.emit(CallAnswered(first.channel_id))
    await until(lambda: bool(pbx.redirects))
    pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", first.channel_id))
    operator = engine.floor.operators[call.operator_id]
    assert await apply_command(engine, operator.id, "end_call", {"rate": True}) is None
    assert pbx.redirects[-1] == (first.channel_id, "dialer-rating", "s")
    assert operator.state is OperatorState.WRAP_UP and operator.calls == 1
    pbx.emit(CallRated(first.channel_id, 4))
    pbx.emit(ChannelHungUp(first.channel_id, 16))
    assert operator.calls == 1                      # the hangup after the menu does not count the call twice
    await engine.recorder.drain()
    row = await engine.db.fetchrow("SELECT rating, outcome FROM attempt WHERE id = $1", call.attempt_id)
    assert (row["rating"], row["outcome"]) == (4, "connected")


async def test_local_presence_shows_the_callee_a_caller_id_of_their_area(db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=1, leads_n=1)
    await campaigns.set_caller_id_pool(db, "c1", {"+1555": ["+15559990000"]}, actor="test", now=midday().now())
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 1)
        assert pbx.customer_calls()[0].caller_id == "+15559990000"
        await engine.recorder.drain()
        assert await db.fetchval("SELECT caller_id FROM attempt") == "+15559990000"
    finally:
        await engine.stop(drain_s=0)


async def test_a_campaign_without_a_valid_caller_id_dials_nobody(db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE campaign SET caller_id = 'Shop'")
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: bool(engine.runners) and next(iter(engine.runners.values())).decisions > 0)
        await settle(0.3)
        assert pbx.customer_calls() == []
        assert await db.fetchval("SELECT count(*) FROM lead WHERE state = 'claimed'") == 0
        assert await db.fetchval("SELECT count(*) FROM attempt") == 0
    finally:
        await engine.stop(drain_s=0)


async def test_a_busy_main_number_is_followed_by_a_call_to_an_alternate_never_a_dnc_one(db: asyncpg.Pool) -> None:
    pbx = FakePbx()
    campaign = await campaigns.create(db, name="alt", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000")
    operator = await operators.create(db, name="op", extension="101", simulated=True)
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[operator.id])
    await db.execute("""UPDATE campaign SET retry_rules = '{"alternate_delay_s": 0}' WHERE id = $1""", campaign.id)
    main, office, home = "+12125550100", "+12125550111", "+12125550122"
    await db.execute("INSERT INTO lead (campaign_id, phone, alt_phones, timezone) VALUES ($1, $2, $3, 'UTC')",
                       campaign.id, main, [office, home])
    await compliance_store.add_dnc(db, [office], source="opt-out:operator", now=datetime.now(UTC))
    await campaigns.set_state(db, "alt", "running", actor="test", now=datetime.now(UTC))
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 1)
        first = pbx.customer_calls()[0]
        pbx.emit(OriginateResult(first.channel_id, False, 5))     # busy
        # a new zone (the home number's) reaches the compliance gate within its zone refresh (5 s)
        await until(lambda: len(pbx.customer_calls()) >= 2, timeout=15)
        second = pbx.customer_calls()[1]
        assert (first.channel, second.channel) == (f"Local/{main[1:]}@pstn", f"Local/{home[1:]}@pstn")
    finally:
        await engine.stop(drain_s=0)
    dialed = await db.fetch("SELECT phone FROM attempt ORDER BY id")
    assert [r["phone"] for r in dialed] == [main, home]


async def test_a_personal_callback_waits_for_its_operator_and_reaches_them(db: asyncpg.Pool) -> None:
    pbx = FakePbx()
    campaign = await campaigns.create(db, name="cb", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000")
    anna, boris = (await operators.create(db, name="anna", extension="101", simulated=True),
                   await operators.create(db, name="boris", extension="102", simulated=True))
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[anna.id, boris.id])
    lead_id = await db.fetchval(
        "INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, '+12125550100', 'UTC') RETURNING id", campaign.id)
    clock = midday()
    async with db.acquire() as conn:
        await callbacks.schedule(conn, lead_id=lead_id, due_at=clock.now(), now=clock.now(), scope="personal",
                                 operator_id=anna.id)
    await campaigns.set_state(db, "cb", "running", actor="test", now=datetime.now(UTC))
    engine = Engine(db, pbx, clock, CONFIG)
    await engine.start()
    try:
        floor_anna = engine.floor.operators[anna.id]
        await until(lambda: floor_anna.state is OperatorState.READY)
        assert await apply_command(engine, anna.id, "pause", {"reason": "lunch"}) is None
        await settle(0.5)
        assert pbx.customer_calls() == []          # Boris is free, but the promise is Anna's
        assert await apply_command(engine, anna.id, "ready", {}) is None
        # a round that found nothing to dial is retried within EXHAUSTED_RETRY_S (5 s)
        await until(lambda: len(pbx.customer_calls()) == 1, timeout=15)
        [call] = pbx.customer_calls()
        pbx.emit(CallAnswered(call.channel_id))
        await until(lambda: bool(pbx.redirects))
        assert pbx.redirects[0][:3] == (call.channel_id, "operator-join", "101")   # Anna's conference
    finally:
        await engine.stop(drain_s=0)
