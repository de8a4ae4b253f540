"""Operators' phones through the real paths: the engine, our AMI client over TCP, the PBX simulator and a
real store. A phone that drops is called back; one that does not come back logs its operator out with the
reason; after a PBX restart the phones are called again and nobody is handed a call without a phone in
the conference; people are logged in by their console, never by the engine on its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import pytest

from ami.client import AmiClient
from ami.simulator import ScriptedCallees, start_simulator
from ami.simulator.channels import Pairs
from ami.simulator.server import SimulatorHandle
from dialer.call import CallState, channel_id_of
from dialer.commands import apply_command
from dialer.config import EngineConfig
from dialer.control import picture_doc
from dialer.engine import Engine
from dialer.floor import FloorOperator, OperatorState
from dialer.phones import STOPPED, STOPPED_PAUSED
from lists import campaigns, operators
from tests.engine.test_engine import midday, until

pytestmark = pytest.mark.db

CONFIG = EngineConfig(tick_s=0.02, operator_channel_template="Local/{ext}@operators", phone_ring_s=1.0,
                      phone_call_back_s=0.2)


@dataclass
class Conferences:
    """The PBX's own record: every customer who joined an operator's conference, and whether the
    operator's phone was there when they did."""
    sim: SimulatorHandle
    joins: list[tuple[str, str]] = field(default_factory=list)     # (conference, customer)
    alone: list[tuple[str, str]] = field(default_factory=list)     # joined a conference with no phone in it
    created: list[str] = field(default_factory=list)               # Uniqueids of every channel made

    def hear(self, name: str, pairs: Pairs) -> None:
        fields = dict(pairs)
        if name == "Newchannel":
            self.created.append(fields.get("Uniqueid", ""))
        if name != "ConfbridgeJoin":
            return
        customer, conference = fields.get("Uniqueid", ""), fields.get("Conference", "")
        if customer.startswith("attempt-"):
            self.joins.append((conference, customer))
            if not any(m.startswith("op") for m in self.sim.conferences.get(conference, ())):
                self.alone.append((conference, customer))


@dataclass
class PhoneRig:
    engine: Engine
    sim: SimulatorHandle
    client: AmiClient
    conferences: Conferences
    port: int

    def operator(self, name: str) -> FloorOperator:
        return next(o for o in self.engine.floor.operators.values() if o.name == name)

    async def restart_pbx(self) -> None:
        """Asterisk dies with every channel and comes back on the same port, empty."""
        await self.sim.close()
        self.sim = await start_simulator(port=self.port, callees=ScriptedCallees())
        self.conferences.sim = self.sim
        self.conferences.created.clear()
        self.sim.watch(self.conferences.hear)


async def make_floor(db: asyncpg.Pool, people: dict[str, bool], leads: int) -> int:
    """A progressive campaign whose customers answer after 1 s and talk 30 s (numbers 5…); ``people``:
    name → simulated, extensions 101, 102 … in that order."""
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    ids = [(await operators.create(db, name=name, extension=str(101 + i), simulated=simulated)).id
           for i, (name, simulated) in enumerate(people.items())]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=ids)
    await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                           [(campaign.id, f"+5555000{i:04d}") for i in range(leads)])
    await campaigns.set_state(db, "c1", "running", actor="test", now=datetime.now(UTC))
    return campaign.id


@pytest.fixture
async def floor(db: asyncpg.Pool) -> AsyncIterator[PhoneRig]:
    sim = await start_simulator(callees=ScriptedCallees())
    conferences = Conferences(sim)
    sim.watch(conferences.hear)
    client = AmiClient("127.0.0.1", sim.port, "dialer-lp", "change-me", ping_interval=0.5, ping_timeout=0.5,
                       reconnect_backoff=(0.05, 0.2))
    await client.start()
    engine = Engine(db, client, midday(), CONFIG)
    state = PhoneRig(engine, sim, client, conferences, sim.port)
    try:
        yield state
    finally:
        await engine.stop(drain_s=0)
        await client.close()
        await state.sim.close()


async def logged_in(floor: PhoneRig, name: str) -> FloorOperator:
    operator = floor.operator(name)
    await apply_command(floor.engine, operator.id, "login", {})
    await until(lambda: operator.state is OperatorState.READY)
    return operator


async def on_a_call(floor: PhoneRig, operator: FloorOperator) -> str:
    """Wait until a customer talks to the operator; their channel id."""
    await until(lambda: operator.state is OperatorState.ON_CALL, timeout=10)
    return channel_id_of(operator.attempt_id)


async def test_a_phone_that_drops_mid_call_is_called_back_and_rejoins_the_customer(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False}, leads=3)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    customer = await on_a_call(floor, anna)
    campaign_id = next(iter(anna.campaigns))
    dropped = anna.phone_channel_id
    assert dropped is not None

    floor.sim.hang_up(f"{dropped}-2")                     # Anna's phone hangs up mid-call
    await until(lambda: not anna.phone_up)
    assert floor.engine.floor.free_for(campaign_id) == []
    await until(lambda: anna.phone_up, timeout=5)         # called back, answered, in the conference again
    assert anna.phone_channel_id != dropped
    assert anna.state is OperatorState.ON_CALL and anna.attempt_id == int(customer.split("-")[1])
    members = floor.sim.conferences["op101"]
    assert customer in members and f"{anna.phone_channel_id}-2" in members   # the conversation goes on

    assert await apply_command(floor.engine, anna.id, "end_call", {}) is None
    await until(lambda: customer not in floor.engine.calls)
    await floor.engine.recorder.drain()
    row = await db.fetchrow("SELECT outcome, operator_id FROM attempt WHERE id = $1", int(customer.split("-")[1]))
    assert (row["outcome"], row["operator_id"]) == ("connected", anna.id)


async def test_a_phone_not_back_logs_its_operator_out_with_the_reason_and_frees_the_customer(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False}, leads=3)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    customer = await on_a_call(floor, anna)
    attempt_id = int(customer.split("-")[1])
    floor.sim.phone_answers("101", False)
    floor.sim.hang_up(f"{anna.phone_channel_id}-2")

    await until(lambda: anna.state is OperatorState.OFFLINE, timeout=5)
    doc = next(o for o in picture_doc(floor.engine)["operators"] if o["id"] == anna.id)
    assert doc["state"] == "logged_out"
    assert "did not answer when called back" in doc["logged_out_why"]
    # the customer is not left alone in the conference: hung up, the attempt closed as the operator's
    await until(lambda: customer not in floor.engine.calls and customer not in floor.sim.channels)
    await floor.engine.recorder.drain()
    row = await db.fetchrow("SELECT outcome, operator_id, connected_at, ended_at, disposition FROM attempt "
                              "WHERE id = $1", attempt_id)
    assert (row["outcome"], row["operator_id"], row["disposition"]) == ("connected", anna.id, "unknown")
    assert row["connected_at"] < row["ended_at"]
    # logged out, she still gives the call its disposition from the console
    assert await apply_command(floor.engine, anna.id, "disposition", {"attempt_id": attempt_id,
                                                                     "code": "no_decision"}) is None
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) == "no_decision"
    # never chosen again, and nothing is dialed for her
    campaign_id = next(iter(anna.campaigns))
    assert floor.engine.floor.choose(campaign_id) is None
    assert not [c for c in floor.engine.calls.values() if c.state is not CallState.ENDED]
    # the console's Log in works again
    floor.sim.phone_answers("101", True)
    assert await apply_command(floor.engine, anna.id, "login", {}) is None
    await until(lambda: anna.state is OperatorState.READY)
    assert next(o for o in picture_doc(floor.engine)["operators"] if o["id"] == anna.id)["logged_out_why"] is None


async def test_log_out_during_a_call_hangs_up_the_customer_and_login_always_works(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False}, leads=3)
    await floor.engine.start()
    anna = floor.operator("Anna")
    assert await apply_command(floor.engine, anna.id, "login", {}) is None
    await until(lambda: anna.state is OperatorState.READY)
    assert await apply_command(floor.engine, anna.id, "login", {}) is None     # already in: nothing to do
    customer = await on_a_call(floor, anna)
    assert await apply_command(floor.engine, anna.id, "login", {}) is None
    assert await apply_command(floor.engine, anna.id, "logout", {}) is None
    assert anna.state is OperatorState.OFFLINE
    await until(lambda: customer not in floor.sim.channels and customer not in floor.engine.calls)
    await floor.engine.recorder.drain()
    assert await db.fetchval("SELECT outcome FROM attempt WHERE id = $1", int(customer.split("-")[1])) \
        == "connected"


async def test_after_a_pbx_restart_phones_are_called_again_and_nobody_gets_a_call_without_one(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False}, leads=6)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    await on_a_call(floor, anna)
    ups = floor.client.reconnects
    await floor.restart_pbx()
    floor.sim.phone_answers("101", False)                 # Anna is slow to pick up after the restart
    await until(lambda: floor.client.reconnects > ups, timeout=5)
    await until(lambda: any(c.startswith("op101-") for c in floor.conferences.created), timeout=5)   # called again
    campaign_id = next(iter(anna.campaigns))
    assert floor.engine.floor.free_for(campaign_id) == []
    assert floor.engine.snapshot(campaign_id, with_estimates=False).free_operators == 0
    # not answered in time: logged out with the reason; meanwhile nothing was dialed for her
    await until(lambda: anna.state is OperatorState.OFFLINE, timeout=5)
    assert "PBX went down" in (anna.logged_out_why or "")
    assert sum(floor.sim.originates_by_number.values()) == 0
    assert floor.conferences.alone == []


async def test_after_a_pbx_restart_dialing_resumes_once_the_phone_is_back(db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False}, leads=6)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    await on_a_call(floor, anna)
    await floor.restart_pbx()
    await until(lambda: anna.phone_up and anna.state is not OperatorState.OFFLINE, timeout=10)
    await until(lambda: any(conference == "op101" for conference, _ in floor.conferences.joins), timeout=10)
    assert floor.conferences.alone == []                  # every customer found Anna's phone there


async def test_when_asterisk_stops_with_the_phones_up_the_operator_is_called_again_when_it_is_back(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False}, leads=0)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    floor.sim.hang_up(f"{anna.phone_channel_id}-2")     # `core stop now`: every channel hangs up first ...
    await floor.restart_pbx()                           # ... then the link closes, and Asterisk comes back
    await until(lambda: anna.phone_up, timeout=10)
    assert anna.state is OperatorState.READY and anna.logged_out_why is None
    assert any(c.startswith("op101-") for c in floor.conferences.created)


async def test_the_engine_calls_no_persons_phone_at_start_unless_their_session_was_open(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    await make_floor(db, {"Anna": False, "Boris": False, "Robot": True}, leads=0)
    boris = await db.fetchval("SELECT id FROM operator WHERE name = 'Boris'")
    # Boris was working when the engine died: his session is still open
    await db.execute("INSERT INTO operator_session (operator_id, state, started_at) VALUES ($1, 'ready', now())",
                       boris)
    await floor.engine.start()
    await until(lambda: floor.operator("Boris").state is OperatorState.READY
                and floor.operator("Robot").state is OperatorState.READY)
    assert floor.operator("Anna").state is OperatorState.OFFLINE
    assert not [c for c in floor.conferences.created if c.startswith("op101-")]


async def test_a_clean_restart_logs_its_people_in_again_and_says_why_they_were_logged_out(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    """Ctrl-C logged everyone not on a call out for good, and their console said LOGGED OUT, no reason: an
    engine restarted for an upgrade made fifty people log in again."""
    await make_floor(db, {"Anna": False, "Boris": False, "Cid": False}, leads=0)
    await floor.engine.start()
    anna, boris, cid = [await logged_in(floor, name) for name in ("Anna", "Boris", "Cid")]
    assert await apply_command(floor.engine, boris.id, "logout", {}) is None   # Boris went home himself
    assert await apply_command(floor.engine, cid.id, "pause", {"reason": "lunch"}) is None
    await floor.engine.stop(drain_s=0)
    assert anna.state is OperatorState.OFFLINE and anna.logged_out_why == STOPPED
    assert boris.logged_out_why is None and cid.logged_out_why == STOPPED_PAUSED

    await floor.client.close()
    floor.client = AmiClient("127.0.0.1", floor.port, "dialer-lp", "change-me", ping_interval=0.5,
                             ping_timeout=0.5, reconnect_backoff=(0.05, 0.2))
    await floor.client.start()
    floor.engine = Engine(db, floor.client, midday(), CONFIG)
    await floor.engine.start()
    anna = floor.operator("Anna")
    await until(lambda: anna.state is OperatorState.READY)          # her phone was called: she is back
    assert floor.operator("Boris").state is OperatorState.OFFLINE   # he logged out: he logs in himself
    assert floor.operator("Cid").state is OperatorState.OFFLINE     # at lunch: never made ready behind his back


async def test_a_call_lost_with_the_pbx_ends_the_operators_on_call_time_when_the_link_was_lost(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    """Asterisk dies mid-call and is back a while later: the conversation ended with the link, so the
    operator's on_call row ends then too, not when the engine reconnected (their talk time, occupancy and
    the report's on-call figure would count the outage as talk)."""
    await make_floor(db, {"Anna": False}, leads=1)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    await on_a_call(floor, anna)
    lost = floor.engine.clock.now()
    await floor.sim.close()
    await asyncio.sleep(1.5)                              # Asterisk is down for a while
    ups = floor.client.reconnects
    floor.sim = await start_simulator(port=floor.port, callees=ScriptedCallees())
    await until(lambda: floor.client.reconnects > ups, timeout=5)
    await until(lambda: anna.state is not OperatorState.ON_CALL, timeout=5)
    await floor.engine.recorder.drain()
    ended = await db.fetchval("SELECT ended_at FROM operator_session WHERE operator_id = $1 AND state = 'on_call'",
                                anna.id)
    assert ended is not None and abs((ended - lost).total_seconds()) < 0.5, (ended, lost)


async def test_a_phone_hung_up_by_a_stopping_asterisk_and_not_back_is_said_cut_off_by_the_pbx(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    """A real `core restart now` hangs every phone up about a second before it closes the link: an operator
    whose phone then did not answer after the restart was told "your phone hung up and did not answer when
    called back", as if they had hung up themselves, and the log said "phone gone (hung up)" twice."""
    await make_floor(db, {"Anna": False}, leads=0)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    floor.sim.hang_up(f"{anna.phone_channel_id}-2")     # every channel hangs up first ...
    await floor.restart_pbx()                           # ... then the link closes, and Asterisk comes back
    floor.sim.phone_answers("101", False)               # Anna is not at her desk
    await until(lambda: anna.state is OperatorState.OFFLINE, timeout=10)
    assert "PBX went down" in (anna.logged_out_why or ""), anna.logged_out_why


async def test_phones_called_back_while_a_restarted_asterisk_loads_its_dialplan_are_called_again(
        db: asyncpg.Pool, floor: PhoneRig) -> None:
    """A real Asterisk takes AMI logins a moment before it has loaded extensions.conf: the call-backs sent
    at once failed ("No such extension/context 101@operators") and every operator was logged out."""
    await make_floor(db, {"Anna": False}, leads=0)
    await floor.engine.start()
    anna = await logged_in(floor, "Anna")
    ups = floor.client.reconnects
    floor.sim.hang_up(f"{anna.phone_channel_id}-2")     # `core restart now`: every channel hangs up ...
    await floor.restart_pbx()                           # ... the link closes, and Asterisk starts again
    floor.sim.load_dialplan(False)                      # still loading its modules
    await until(lambda: floor.client.reconnects > ups, timeout=5)
    await until(lambda: floor.sim.tally.failed >= 1, timeout=5)   # a call-back failed: no such extension
    floor.sim.load_dialplan(True)
    await until(lambda: anna.phone_up or anna.state is OperatorState.OFFLINE, timeout=10)
    assert anna.state is OperatorState.READY and anna.logged_out_why is None, anna.logged_out_why
