"""A simulated campaign through three faults, judged by the PBX's own record.

The engine runs as a real process (``tests/faults/engine_process.py``) against the AMI simulator (this
process, real TCP, real time, a compressed world) and the real PostgreSQL (through a proxy this test can
cut). During the campaign: (a) the simulator drops the AMI connection (its calls go on); (b) the engine
is killed with SIGKILL and started again; (c) the store is cut off for a few seconds. Each fault waits for
the calls' own state (a customer with an operator, answers on their way), never for the clock. Afterwards:
0 leads lost, 0 leads dialed twice at once, 0 answered calls left without an operator or the
safe-harbor message for more than 2 s, and the abandonment ledger the same in memory and in the store.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from ami.simulator import start_simulator
from ami.simulator.server import SimulatorHandle
from dialer.call import channel_id_of
from lists import campaigns, database, operators
from tests.faults.engine_process import SECRET, USER
from tests.faults.proxy import StoreProxy
from tests.faults.witness import ChannelLife, QuickCallees, Witness

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
OPERATORS = 8
LEADS = 140
# The 2-second rule is judged on the simulator's loop; its timers may fire this late on a loaded machine.
TIMER_SLACK_S = 0.25
# How long a wait for a state may take before the test calls it a hang (a loaded machine is slow, not wrong).
STATE_DEADLINE_S = 120.0
# The store outage is the fault itself, not a wait: its length is part of the scenario.
STORE_OUTAGE_S = 4.0


@dataclass
class Timeline:
    """When the faults happened, in the test's loop time."""
    killed: float = 0.0
    restarted: float = 0.0     # the new process said its recovery is done
    store_cut: float = 0.0
    store_back: float = 0.0
    wall_minus_loop: float = 0.0   # to read the store's wall-clock times on this timeline
    # What the killed engine had: customer hang-ups it heard (attempt id → wall clock), and the latest
    # time among the attempt transitions it had written (wall clock; its write-behind queue is in order).
    heard_before_kill: dict[int, float] = field(default_factory=dict)
    written_before_kill: float = 0.0
    notes: list[str] = field(default_factory=list)


class EngineProcess:
    def __init__(self, tmp: Path, ami_port: int, store_url: str, schema: str) -> None:
        self._tmp = tmp
        self._args = [sys.executable, "-m", "tests.faults.engine_process", "--ami-port", str(ami_port),
                      "--schema", schema, "--state-file", str(tmp / "state.json")]
        self._env = {**os.environ, "DIALER_DATABASE_URL": store_url, "PYTHONPATH": str(ROOT)}
        self._runs = 0
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start and wait until the engine says it has started (recovery done, campaigns running)."""
        self._runs += 1
        log = open(self._tmp / f"engine-{self._runs}.log", "wb")
        self.proc = await asyncio.create_subprocess_exec(*self._args, cwd=ROOT, env=self._env,
                                                         stdout=asyncio.subprocess.PIPE, stderr=log)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=STATE_DEADLINE_S)
        assert line.startswith(b"engine started"), self.log_tail()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> dict[str, object]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout=STATE_DEADLINE_S)
        assert code == 0, self.log_tail()
        return json.loads((self._tmp / "state.json").read_text())

    def heard_hangups(self) -> dict[int, float]:
        """The customer hang-ups the last run heard (engine_process logs each): attempt id → wall clock."""
        heard = {}
        for line in (self._tmp / f"engine-{self._runs}.log").read_text(errors="replace").splitlines():
            if line.startswith("heard hangup attempt-"):
                channel, at = line.removeprefix("heard hangup ").split()
                heard.setdefault(int(channel.removeprefix("attempt-")), float(at))
        return heard

    def log_tail(self) -> str:
        return (self._tmp / f"engine-{self._runs}.log").read_text(errors="replace")[-3000:]


@pytest.fixture
async def store(store_schema: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Pool, str, str]]:
    url, schema = store_schema
    db = await database.open_db(url, search_path=schema)
    try:
        yield db, url, schema
    finally:
        await db.close()


async def set_up_campaign(db: asyncpg.Pool) -> int:
    campaign = await campaigns.create(db, name="faults", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="ratio", pacing={"ratio": 2.5},
                                      ring_timeout_s=15)
    ops = [await operators.create(db, name=f"op{i}", extension=str(201 + i), simulated=True)
           for i in range(OPERATORS)]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
    await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                           [(campaign.id, f"+1555{i:07d}") for i in range(LEADS)])
    await campaigns.set_state(db, "faults", "running", actor="test", now=datetime.now(UTC))
    return campaign.id


async def campaign_over(db: asyncpg.Pool) -> bool:
    """Nothing claimed, nothing open, nothing due now: every lead has had its call."""
    row = await db.fetchrow(
        """SELECT count(*) FILTER (WHERE state = 'claimed') AS claimed,
                  count(*) FILTER (WHERE state = 'ready' AND (next_due_at IS NULL OR next_due_at <= now())) AS due,
                  (SELECT count(*) FROM attempt WHERE ended_at IS NULL) AS open
           FROM lead""")
    return row["claimed"] == 0 and row["due"] == 0 and row["open"] == 0


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a state of the calls. The deadline only turns a hang into a failure: the faults are timed
    by what the calls are doing, never by the clock, so a loaded machine only makes the test slower."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STATE_DEADLINE_S
    while not condition():
        assert loop.time() < deadline, f"waited {STATE_DEADLINE_S:.0f} s for {what}"
        await asyncio.sleep(0.02)


def answers_coming(callees: QuickCallees, witness: Witness, at_least: int = 2) -> Callable[[], bool]:
    """Calls are ringing that will be answered: a fault now hits answers nobody can hand off."""
    return lambda: callees.about_to_answer(witness) >= at_least


async def run_through_faults(sim: SimulatorHandle, callees: QuickCallees, witness: Witness,
                             engine: EngineProcess, proxy: StoreProxy, db: asyncpg.Pool) -> Timeline:
    loop = asyncio.get_running_loop()
    t = Timeline(wall_minus_loop=time.time() - loop.time())
    callees.stay(1)                           # one customer talks through the engine's death
    await engine.start()
    await until(lambda: bool(witness.connected_now()), "a first call with an operator")
    await until(answers_coming(callees, witness), "answers on their way")
    sim.drop_sessions()                       # (a) the AMI link drops; Asterisk's calls go on
    dropped = loop.time()
    await until(lambda: sim.session_count > 0, "the engine back on the AMI link")
    await until(lambda: any(life.joined is not None and life.joined > dropped for life in witness.channels.values()),
                "a call connected after the drop")
    await until(lambda: callees.stayer_with_an_operator(witness), "a staying customer with an operator")
    await until(answers_coming(callees, witness), "answers on their way")
    engine.kill()                             # (b) the engine dies with its memory ...
    t.killed = loop.time()
    await until(lambda: any(life.answered is not None and life.answered > t.killed
                            for life in witness.channels.values()), "an answer while the engine is dead")
    await engine.proc.wait()
    t.heard_before_kill = engine.heard_hangups()
    t.written_before_kill = (await db.fetchval(
        """SELECT max(greatest(originated_at, answered_at, connected_at, ended_at)) FROM attempt""")).timestamp()
    await engine.start()                      # ... and comes back
    t.restarted = loop.time()
    for life in callees.staying(witness):     # the call that lived through it ends now
        sim.hang_up(channel_id_of(life.attempt_id))
    await until(lambda: any(life.created > t.restarted for life in witness.channels.values()),
                "the new engine dialing")
    await proxy.cut()                         # (c) the store goes away for a while
    t.store_cut = loop.time()
    await asyncio.sleep(STORE_OUTAGE_S)
    await proxy.restore()
    t.store_back = loop.time()
    deadline = loop.time() + 300
    while not await campaign_over(db):
        assert loop.time() < deadline, "the campaign never finished: " + engine.log_tail()
        await asyncio.sleep(0.5)
    return t


async def test_a_campaign_survives_an_ami_drop_an_engine_kill_and_a_store_outage(
        store: tuple[asyncpg.Pool, str, str], tmp_path: Path) -> None:
    db, url, schema = store
    campaign_id = await set_up_campaign(db)
    witness, callees = Witness(), QuickCallees(seed=8)
    sim = await start_simulator(callees=callees, users={USER: SECRET})
    sim.watch(witness.hear)
    proxy = await StoreProxy(url).start()
    engine = EngineProcess(tmp_path, sim.port, proxy.url, schema)
    try:
        t = await run_through_faults(sim, callees, witness, engine, proxy, db)
        state = await engine.stop()
    finally:
        if engine.proc is not None and engine.proc.returncode is None:
            engine.kill()
        await proxy.close()
        await sim.close()
    attempts = {r["id"]: r for r in await db.fetch("SELECT * FROM attempt")}
    lives = witness.channels

    # Every call placed is on record, ended, with an outcome; no lead is left claimed (0 leads lost).
    assert set(lives) <= set(attempts), "calls the PBX placed with no attempt row"
    assert all(a["ended_at"] is not None and a["outcome"] for a in attempts.values())
    assert await db.fetchval("SELECT count(*) FROM lead WHERE state NOT IN ('ready', 'done')") == 0
    assert await db.fetchval("""SELECT count(*) FROM lead l WHERE NOT EXISTS (
        SELECT 1 FROM attempt a WHERE a.lead_id = l.id AND a.outcome <> 'not_dialed')""") == 0, "a lead never dialed"

    # 0 leads dialed twice at once: by the PBX's record and by the store's.
    assert witness.created_twice == [] and witness.overlapping_numbers() == []
    assert await db.fetch("""SELECT a.lead_id FROM attempt a JOIN attempt b
                               ON a.lead_id = b.lead_id AND a.id < b.id AND b.claimed_at < a.ended_at""") == []

    # 0 answered calls left without an operator or the safe-harbor message for more than 2 s.
    answered = [life for life in lives.values() if life.answered is not None]
    late = {life.attempt_id: round(life.taken_care_of() - life.answered, 3) for life in answered
            if life.taken_care_of() is None or life.taken_care_of() - life.answered > 2.0 + TIMER_SLACK_S}
    assert late == {}, f"{late} {t}"

    # What the PBX did is what the store says, except calls whose end no engine could write: they ended
    # while no engine ran, or just before the kill, when the engine had not heard the hang-up yet (it
    # heard no later one either: AMI events come in order) or had heard it but written nothing since.
    def unseen(life: ChannelLife) -> bool:
        if life.ended is None or life.ended > t.restarted:
            return False
        if life.ended >= t.killed:
            return True
        heard = t.heard_before_kill.get(life.attempt_id)
        if heard is None:
            return not any(other.ended is not None and other.ended > life.ended
                           and other.attempt_id in t.heard_before_kill for other in lives.values())
        return t.written_before_kill <= heard

    for life in lives.values():
        row = attempts[life.attempt_id]
        said = f"{life} {t} store: {_said(row, t)}"
        if row["outcome"] == "lost":
            assert unseen(life), f"attempt {life.attempt_id} closed as lost though an engine could see it: {said}"
            continue
        if life.joined is not None and life.safe_harbor is None:
            assert row["outcome"] == "connected" and row["operator_id"] is not None, said
        if life.safe_harbor is not None:
            assert row["abandoned"], said
        if life.answered is not None:
            assert row["answered_at"] is not None, said

    # The abandonment ledger: what the restarted engine holds is what the store holds.
    stored = await db.fetchrow(
        """SELECT count(*) AS answers, count(*) FILTER (WHERE abandoned) AS abandons FROM attempt
           WHERE campaign_id = $1 AND answered_at IS NOT NULL AND ended_at IS NOT NULL
             AND outcome IS DISTINCT FROM 'machine'""", campaign_id)
    assert state["ledger"][str(campaign_id)] == [stored["answers"], stored["abandons"]]

    # The faults really happened while calls were going on, and hit answers nobody could hand off.
    assert any(life.created < t.killed and (life.ended or 1e18) > t.restarted for life in lives.values()), \
        "no call lived through the engine's death"
    assert any(t.killed < life.answered < t.restarted for life in answered), "no answer while the engine was dead"
    assert sum(1 for a in attempts.values() if a["outcome"] == "connected") > 20
    assert not [life for life in lives.values() if t.store_cut + 0.5 < life.created < t.store_back], \
        "calls were placed while the store was down"


def _said(row: asyncpg.Record, t: Timeline) -> str:
    """An attempt row's story, for a failure message (its times on the test's loop clock)."""
    def shown(value: object) -> object:
        return round(value.timestamp() - t.wall_minus_loop, 3) if isinstance(value, datetime) else value
    return ", ".join(f"{k}={shown(row[k])}" for k in (
        "engine", "state", "outcome", "claimed_at", "originated_at", "answered_at", "connected_at", "ended_at",
        "abandoned", "operator_id", "originate_reason", "dial_status", "hangup_cause"))
