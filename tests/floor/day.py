"""``WorkingDay``: a working day of one campaign, in virtual time, with people and faults.

Everything real but the people and the phone network: PostgreSQL, the PBX simulator over TCP, the
engine with its control plane, simulated operators, and persons at the operator console (Textual's
pilot). The loop is the demo's (``dialer/sim/virtual_time.py``): the clock jumps over idle stretches and
stands still while the database answers. A scenario (a coroutine given the ``WorkingDay``) injects faults when
the calls are in the state it waits for, never at a time; the day then runs out, the engine stops by its
stop path, and ``DayRecord`` holds the evidence the invariants judge (``tests/floor/invariants.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from ami.pbx import LinkDown, LinkUp
from ami.simulator import start_simulator
from ami.simulator.server import SimulatorHandle
from dialer.clock import LoopClock
from dialer.config import EngineConfig
from dialer.sim.demo import next_working_day
from dialer.sim.virtual_time import FreezingConnection, new_virtual_loop
from dialer.sim.world import WorldCallees
from dialer.tuning import validate_pacing
from lists import campaigns, database, disposition_catalogue, operators
from lists.dispositions import DEFAULT_CATALOGUE, Disposition
from tests.floor.consoles import ConsoleOperator, few_frames
from tests.floor.lives import AMI_SECRET, AMI_USER, EngineLife, LifeTracker
from tests.floor.record import DayRecord, DaySettings, ErrorLog

CAMPAIGN = "floor"
TIMEZONE = "Europe/Moscow"
LATER = Disposition("interested_later", "Interested, call another day", follow_up_days=1)
SNAPSHOT_EVERY_S = 1.0
STOP_WITHIN_S = 300.0      # the stop path: 120 s of draining calls, phones hung up, writes flushed
STARTUP_GRACE_S = 2.0      # a new engine's first snapshot is due within a second of its start


Scenario = Callable[["WorkingDay"], Awaitable[None]]


class WorkingDay:
    def __init__(self, url: str, schema: str, settings: DaySettings) -> None:
        self.url, self.schema, self.settings = url, schema, settings
        self.record = DayRecord(settings)
        self.witness = self.record.witness
        self.lives: list[EngineLife] = []
        self.dead: set[int] = set()
        self.excuses: list[str] = []
        self.sim: SimulatorHandle | None = None
        self.db: asyncpg.Pool | None = None        # the people's side: consoles, manager, supervisor
        self.clock: LoopClock | None = None
        self.tracker: LifeTracker | None = None
        self._port = 0
        self._helpers: list[asyncio.Task[None]] = []
        self.waiting_for = ""        # what the scenario waits for now (said when the day ends first)

    # ---- what the scenario can do ------------------------------------------------------------------

    @property
    def life(self) -> EngineLife:
        return self.lives[-1]

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.record.t0

    def note(self, what: str) -> None:
        self.record.faults.append((round(self.now(), 3), what))

    async def until(self, condition: Callable[[], bool], what: str, within_s: float = 1800.0) -> None:
        """Wait (virtual time) for a state of the floor; the fault comes when the calls are there."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        self.waiting_for = what
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"scenario: {what} never happened within {within_s:g} s of virtual time")
            await asyncio.sleep(0.25)

    async def expect(self, condition: Callable[[], bool], what: str, within_s: float) -> bool:
        """Like ``until``, but a condition that never comes is a broken expectation, and the day goes on."""
        try:
            await self.until(condition, what, within_s)
        except AssertionError as exc:
            self.record.expectations.append(f"at {self.now():.1f} s: {exc}")
            return False
        return True

    def phones_up(self) -> set[str]:
        """Extensions whose phone sits in its own conference now (on the switch, whatever the engine thinks)."""
        assert self.sim is not None
        return {name.removeprefix("op") for name, c in self.sim._server.exchange.conferences.items()
                if c.has_operator()}

    def operator_on_call(self, extensions: set[str] | None = None) -> str | None:
        """The extension of an operator whose phone is in a conference with a customer now."""
        assert self.sim is not None
        exchange = self.sim._server.exchange
        for name, conference in exchange.conferences.items():
            ext = name.removeprefix("op")
            customers = [m for m in conference.members if m.uniqueid.startswith("attempt-")]
            if customers and conference.has_operator() and (extensions is None or ext in extensions):
                return ext
        return None

    def hang_up_phone(self, extension: str) -> None:
        """The operator's phone drops while the operator talks (the switch hangs it up)."""
        assert self.sim is not None
        exchange = self.sim._server.exchange
        phone = next(m for m in exchange.conferences[f"op{extension}"].members if m.context == "operators")
        self.note(f"phone of {extension} hung up mid-call ({phone.name})")
        exchange.hang_up(phone, 16)

    def drop_ami(self) -> list[str]:
        """The switch cuts the AMI link (its calls go on). Returns the link events the engine hears next."""
        assert self.sim is not None and self.life.pbx is not None
        heard: list[str] = []
        self.life.pbx.subscribe(lambda e: heard.append(type(e).__name__) if isinstance(e, LinkUp | LinkDown) else None)
        self.note("AMI link dropped")
        self.sim.drop_sessions()
        return heard

    async def restart_pbx(self, down_s: float = 5.0) -> None:
        """``core stop now`` and a start: every channel hangs up, the link drops, a fresh PBX comes back."""
        assert self.sim is not None
        exchange = self.sim._server.exchange
        self.note(f"PBX restart ({len(exchange.channels)} channels up)")
        for channel in list(exchange.channels.values()):
            exchange.hang_up(channel, 0, soft=False)
        await self.sim.close()
        await asyncio.sleep(down_s)
        await self._start_pbx()
        self.note("PBX back")

    async def kill_engine(self, back_when: Callable[[], bool] | None = None) -> None:
        """The engine dies without its stop path; a new engine starts on the same store and PBX a few
        seconds later, or once ``back_when`` holds (e.g. a call of the dead engine has ended)."""
        assert self.tracker is not None and self.clock is not None
        self.dead.add(self.life.number)
        self.note(f"engine life {self.life.number} killed ({len(self.witness.connected_now())} customers connected)")
        self.life.kill(self.tracker)
        if back_when is None:
            await asyncio.sleep(3.0)
        else:
            await self.until(back_when, "the moment to start the new engine", within_s=900)
        await self._new_life()
        self.note(f"engine life {self.life.number} started")

    async def replace_dispositions(self, items: list[Disposition]) -> None:
        """What a manager does to make the catalogue ``items``: ``dialer lists strategy CAMPAIGN --file`` with
        them (adds and changes), then ``dialer lists dispositions CAMPAIGN --remove`` for every other code
        (retired when calls used it)."""
        assert self.db is not None and self.clock is not None
        for item in items:
            self.record.codes.setdefault(item.code, item)
        campaign_id = self.record.campaign_id
        async with self.db.acquire() as conn:
            now = self.clock.now()
            await disposition_catalogue.merge(conn, campaign_id, items, actor="manager", now=now)
            listed = {d.code for d in items}
            gone = [e.disposition.code for e in await disposition_catalogue.listing(conn, campaign_id)
                    if e.kind == "" and e.disposition.code not in listed]
            if gone:
                await disposition_catalogue.remove(conn, campaign_id, gone, actor="manager", now=now)
        self.note(f"dispositions replaced by {sorted(listed)}")

    async def set_pacing(self, changes: dict[str, object]) -> campaigns.Campaign:
        """What ``dialer campaign set CAMPAIGN key=value …`` does."""
        assert self.db is not None and self.clock is not None
        async with self.db.acquire() as conn, conn.transaction():
            campaign = await campaigns.set_pacing(conn, CAMPAIGN, changes, actor="supervisor", now=self.clock.now(),
                                                  validate=validate_pacing)
        self.note(f"pacing set: {changes}")
        return campaign

    # ---- the day -----------------------------------------------------------------------------------

    async def _start_pbx(self) -> None:
        world = self.settings.world
        self.sim = await start_simulator(port=self._port, callees=WorldCallees(world, seed=self.settings.seed),
                                         users={AMI_USER: AMI_SECRET})
        self._port = self.sim.port
        exchange = self.sim._server.exchange
        self.witness.has_operator = lambda name: (c := exchange.conferences.get(name)) is not None \
            and c.has_operator()
        self.sim.watch(self.witness.hear)

    async def _new_life(self) -> None:
        assert self.clock is not None
        config = EngineConfig(name="floor-engine", operator_channel_template="Local/{ext}@operators",
                              record_linger_s=1.0, heartbeat_s=10.0, lease_s=60.0, wrap_up_max_s=60.0)
        life = EngineLife(len(self.lives) + 1, self.url, self.schema, self._port, self.clock, config)
        self.lives.append(life)
        await life.start()

    async def _set_up(self) -> int:
        assert self.db is not None and self.clock is not None
        s = self.settings
        campaign = await campaigns.create(self.db, name=CAMPAIGN, channel_template="Local/{digits}@pstn",
                                          caller_id="+74951234567", mode=s.mode, timezone=TIMEZONE,
                                          default_region="RU")
        catalogue = [*DEFAULT_CATALOGUE, LATER]
        async with self.db.acquire() as conn:
            await disposition_catalogue.merge(conn, campaign.id, catalogue, actor="setup", now=self.clock.now())
        self.record.codes = {d.code: d for d in catalogue}
        ops = [await operators.create(self.db, name=f"Sim {i + 1}", extension=str(101 + i), simulated=True)
               for i in range(s.simulated)]
        ops += [await operators.create(self.db, name=name, extension=str(201 + i))
                for i, (name, _) in enumerate(s.consoles)]
        await operators.assign(self.db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
        await self.db.executemany(
            "INSERT INTO lead (campaign_id, phone, timezone, fields, source_row) VALUES ($1, $2, $3, $4::jsonb, $5)",
            [(campaign.id, f"+7495{3_000_000 + 7919 * i % 6_000_000:07d}", TIMEZONE,
              f'{{"first_name": "Customer {i + 1}"}}', i + 2) for i in range(s.leads)])
        await campaigns.set_state(self.db, CAMPAIGN, "running", actor="setup", now=self.clock.now())
        return campaign.id

    async def _play(self, scenario: Scenario) -> None:
        """A scenario that waits in vain stops there; the day goes on and is judged all the same."""
        try:
            await scenario(self)
        except AssertionError as exc:
            self.record.expectations.append(f"at {self.now():.1f} s: {exc}")

    async def _watch_snapshots(self) -> None:
        """Sample the views' snapshot the way a view would read it, while an engine runs."""
        assert self.db is not None and self.clock is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SNAPSHOT_EVERY_S)
            life = self.lives[-1] if self.lives else None
            if life is None or not life.running or loop.time() - (life.started_at or 0) < STARTUP_GRACE_S:
                continue
            at = await self.db.fetchval("SELECT at FROM engine_picture WHERE engine = $1", life.config.name)
            self.record.samples += 1
            age = (self.clock.now() - at).total_seconds() if at is not None else float("inf")
            if age > 2.0:
                self.record.stale.append((round(self.now(), 1), round(age, 1)))

    async def run(self, scenario: Scenario | None) -> DayRecord:
        loop = asyncio.get_running_loop()
        wall = time.perf_counter()
        handler = ErrorLog(self.record, self.dead, self.excuses)
        logging.getLogger().addHandler(handler)
        conn = await asyncpg.connect(self.url)
        await conn.execute(f'CREATE SCHEMA "{self.schema}"')
        await conn.close()
        self.db = await database.open_db(self.url, search_path=self.schema, min_size=6, max_size=6,
                                             connection_class=FreezingConnection, durable=False)
        self.tracker = LifeTracker(loop)
        await self._start_pbx()
        clean = False
        try:
            with loop.looptime_enabled(), few_frames():  # type: ignore[attr-defined]
                await self._day(scenario)
            clean = True
        finally:
            logging.getLogger().removeHandler(handler)
            for life in self.lives:
                if life.running:
                    life.kill(self.tracker)
            for task in self._helpers:     # a day that failed leaves its consoles and sampler running
                task.cancel()
            await asyncio.gather(*self._helpers, return_exceptions=True)
            if self.sim is not None:
                await self.sim.close()
            if clean:
                await self.db.close()
            else:
                self.db.terminate()
            conn = await asyncpg.connect(self.url)
            await conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
            await conn.close()
        self.record.wall_s = time.perf_counter() - wall
        return self.record

    async def _day(self, scenario: Scenario | None) -> None:
        loop = asyncio.get_running_loop()
        zone = ZoneInfo(TIMEZONE)
        day = next_working_day(datetime(2026, 12, 7, tzinfo=zone)).replace(hour=9)
        self.clock = LoopClock(day, loop)
        self.record.day_start, self.record.t0 = self.clock.now(), loop.time()
        self.record.campaign_id = await self._set_up()
        await self._new_life()
        people = {name: ConsoleOperator(name, codes) for name, codes in self.settings.consoles}
        self.record.consoles = people
        assert self.db is not None
        helpers = [loop.create_task(p.work(self.db, self.clock), name=f"console {p.name}") for p in people.values()]
        helpers.append(loop.create_task(self._watch_snapshots(), name="snapshot sampler"))
        plot = loop.create_task(self._play(scenario)) if scenario is not None else None
        self._helpers = helpers + ([plot] if plot is not None else [])
        end = self.record.t0 + self.settings.hours * 3600
        while loop.time() < end and not (plot is not None and plot.done() and plot.exception() is not None):
            await asyncio.sleep(5.0)
            for helper in helpers:
                if helper.done() and helper.exception() is not None:
                    raise helper.exception()  # type: ignore[misc]
        if plot is not None:
            if not plot.done():
                plot.cancel()
                self.record.expectations.append(f"the day ended while the scenario waited for: {self.waiting_for}")
            elif plot.exception() is not None:
                raise plot.exception()  # type: ignore[misc]
        await campaigns.set_state(self.db, CAMPAIGN, "paused", actor="end of day", now=self.clock.now())
        with contextlib.suppress(AssertionError):    # the last calls end before the people log out
            await self.until(lambda: self.life.engine is None or not self.life.engine.calls, "the last calls ended",
                             within_s=900)
        for person in people.values():
            person.stop()
        await asyncio.gather(*helpers[:-1], return_exceptions=True)
        try:
            async with asyncio.timeout(STOP_WITHIN_S):
                await self.life.stop(drain_s=120)
        except TimeoutError:
            self.record.expectations.append(f"the engine's stop path did not return within {STOP_WITHIN_S:g} s")
            assert self.tracker is not None
            self.life.kill(self.tracker)
        helpers[-1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helpers[-1]
        self.record.virtual_s = loop.time() - self.record.t0
        self.record.attempts = await self.db.fetch("SELECT * FROM attempt ORDER BY id")
        self.record.leads = await self.db.fetch("SELECT * FROM lead ORDER BY id")


def run_day(url: str, schema: str, scenario: Scenario | None, settings: DaySettings | None = None) -> DayRecord:
    loop = new_virtual_loop(noop_cycles=8)
    try:
        return loop.run_until_complete(WorkingDay(url, schema, settings or DaySettings()).run(scenario))
    finally:
        loop.close()
