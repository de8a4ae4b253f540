"""``dialer demo``: a whole working day of a simulated campaign, in seconds.

Everything real but the people: the store (embedded PostgreSQL unless a URL is given, in a schema of
its own so a demo never touches real campaigns), the AMI simulator over real TCP, the engine, the
write-behind recorder. The event loop runs in virtual time (looptime): timers fire in order, but the
clock jumps over idle stretches, so eight hours of ringing and talking take seconds of wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
from pydantic import SecretStr

from ami.client import AmiClient
from ami.cluster import PbxCluster
from ami.simulator import start_simulator
from config.servers import AmiServer
from dialer.clock import LoopClock
from dialer.config import EngineConfig
from dialer.engine import Engine
from dialer.metrics import MetricsServer
from dialer.servers import ServerAffinity, build_cluster, close_cluster, start_cluster
from dialer.sim.operators import SimulatedOperators
from dialer.sim.virtual_time import FreezingConnection, new_virtual_loop
from dialer.sim.world import WorldCallees
from lists import campaigns, database, leads, operators
from lists.campaign_summary import CampaignSummary, summarize
from pacing.world import World

# Idle loop cycles before the virtual clock jumps to the next timer: enough for loopback TCP between
# the engine and the simulator (the database holds the clock by itself, see dialer/sim/virtual_time.py).
NOOP_CYCLES = 8
DEMO_USER, DEMO_SECRET = "dialer", "demo-secret"


@dataclass(frozen=True)
class DemoSettings:
    leads: int = 3000                     # enough that six operators do not run the list dry by noon
    operators: int = 6
    hours: float = 8.0
    seed: int = 1
    mode: str = "predictive"
    answer_rate: float = 0.3
    mean_talk_s: float = 120.0
    mean_wrap_s: float = 10.0
    timezone: str = "Europe/Moscow"
    schema: str = "dialer_demo"           # the demo's own schema, dropped and made anew each run
    servers: int = 1                      # simulated Asterisk servers (several: ami/cluster.py, dialer/servers.py)
    max_channels: int = 100               # per server, with several
    cps: int = 10                         # per server, with several
    metrics_port: int | None = None       # serve Prometheus metrics while the day runs


@dataclass(frozen=True)
class DemoResult:
    campaign_id: int
    summary: CampaignSummary
    wall_s: float
    virtual_s: float
    handoff_p50_ms: float
    handoff_p99_ms: float
    handoff_wall_p50_ms: float    # the same, wall clock: what processing costs
    handoff_wall_p99_ms: float


Progress = Callable[[Engine, float], None]


def run_demo(store_url: str, settings: DemoSettings, progress: Progress | None = None) -> DemoResult:
    """Run on a fresh looptime loop. Connections are opened in real time first (asyncpg's connect
    timeout would expire at once in virtual time), then the day runs with virtual time on."""
    loop = new_virtual_loop(noop_cycles=NOOP_CYCLES)
    try:
        return loop.run_until_complete(_demo(loop, store_url, settings, progress))
    finally:
        loop.close()


async def _demo(loop: asyncio.AbstractEventLoop, store_url: str, settings: DemoSettings,
                progress: Progress | None) -> DemoResult:
    conn = await asyncpg.connect(store_url)
    schema = settings.schema
    try:
        await database.recreate_schema(conn, schema)
    finally:
        await conn.close()
    # Every connection is opened now: none may be opened later under virtual time.
    db = await database.open_db(store_url, search_path=schema, min_size=4, max_size=4,
                                    connection_class=FreezingConnection, durable=False)
    world = World(answer_rate=settings.answer_rate, talk_mean_s=settings.mean_talk_s, wrap_s=settings.mean_wrap_s)
    simulators = [await start_simulator(port=0, callees=WorldCallees(world, seed=settings.seed + i),
                                        users={DEMO_USER: DEMO_SECRET}, order_seed=settings.seed + i)
                  for i in range(settings.servers)]
    servers = _servers(settings, [s.port for s in simulators])
    pbx: AmiClient | PbxCluster
    if servers:
        pbx = build_cluster(servers)
        await start_cluster(pbx)
    else:
        pbx = AmiClient("127.0.0.1", simulators[0].port, DEMO_USER, DEMO_SECRET)
        await pbx.start()
    exporter: MetricsServer | None = None
    zone = ZoneInfo(settings.timezone)
    day = next_working_day(datetime.now(zone)).replace(hour=9, minute=0, second=0, microsecond=0)
    wall_start = time.perf_counter()
    try:
        with loop.looptime_enabled():  # type: ignore[attr-defined]
            clock = LoopClock(day, loop)
            campaign_id = await _set_up(db, settings, clock.now())
            engine = Engine(db, pbx, clock, EngineConfig(operator_channel_template="Local/{ext}@operators",
                                                          record_linger_s=1.0))
            SimulatedOperators(engine, mean_wrap_s=settings.mean_wrap_s, seed=settings.seed)
            if isinstance(pbx, PbxCluster):
                ServerAffinity(engine, pbx, {s.name: s.operators for s in servers})
            if settings.metrics_port is not None:
                exporter = MetricsServer(engine, port=settings.metrics_port)
                await exporter.start()
            t0 = loop.time()
            await engine.start()
            end = t0 + settings.hours * 3600
            next_check = t0
            while loop.time() < end:
                await asyncio.sleep(1.0)
                if progress:
                    progress(engine, loop.time() - t0)
                runner = engine.runners[campaign_id]
                if loop.time() >= next_check and runner.exhausted and not engine.calls:
                    next_check = loop.time() + 60
                    if await _nothing_left(db, campaign_id):
                        break
            await engine.stop(drain_s=900)
            virtual_s = loop.time() - t0
            summary = await summarize(db, campaign_id, until=clock.now())
            latencies = np.array(engine.handoff.latencies_s or [0.0]) * 1000
            wall = np.array(engine.handoff.wall_latencies_s or [0.0]) * 1000
    finally:
        if exporter is not None:
            await exporter.close()
        await (close_cluster(pbx) if isinstance(pbx, PbxCluster) else pbx.close())
        for simulator in simulators:
            await simulator.close()
        await db.close()
    return DemoResult(campaign_id=campaign_id, summary=summary, wall_s=time.perf_counter() - wall_start,
                      virtual_s=virtual_s,
                      handoff_p50_ms=float(np.percentile(latencies, 50)),
                      handoff_p99_ms=float(np.percentile(latencies, 99)),
                      handoff_wall_p50_ms=float(np.percentile(wall, 50)),
                      handoff_wall_p99_ms=float(np.percentile(wall, 99)))


def _servers(settings: DemoSettings, ports: list[int]) -> list[AmiServer]:
    """With several simulated servers, the operators' phones are dealt out among them in turn."""
    if settings.servers < 2:
        return []
    extensions = [str(101 + i) for i in range(settings.operators)]
    return [AmiServer(name=f"sim-{n + 1}", host="127.0.0.1", port=port, username=DEMO_USER,
                      secret=SecretStr(DEMO_SECRET), max_channels=settings.max_channels, cps=settings.cps,
                      operators=tuple(extensions[n::settings.servers]) or ("none",))
            for n, port in enumerate(ports)]


def next_working_day(now: datetime) -> datetime:
    """The demo's day: the next Monday-to-Friday date, so weekend calling rules never empty it."""
    day = now + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _set_up(db: asyncpg.Pool, settings: DemoSettings, now: datetime) -> int:
    campaign = await campaigns.create(
        db, name="demo", channel_template="Local/{digits}@pstn", caller_id="+74951234567",
        mode=settings.mode, timezone=settings.timezone, default_region="RU")
    ops = [await operators.create(db, name=f"Operator {i + 1}", extension=str(101 + i), simulated=True)
           for i in range(settings.operators)]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
    rng = np.random.default_rng(settings.seed)
    numbers = 1_000_000 + rng.choice(9_000_000, size=settings.leads, replace=False)
    await leads.add_named(db, campaign.id, [(f"+7495{n:07d}", settings.timezone, f"Customer {i + 1}", i + 2)
                                              for i, n in enumerate(numbers)])
    await campaigns.set_state(db, "demo", "running", actor="demo", now=now)
    return campaign.id


async def _nothing_left(db: asyncpg.Pool, campaign_id: int) -> bool:
    """No lead will ever be dialable again today (all done, or due after the day)."""
    return await leads.unfinished(db, campaign_id) == 0
