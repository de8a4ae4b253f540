"""``dialer run``: the engine against a real Asterisk, in real time, until stopped.

Ctrl-C and SIGTERM stop it the same way, within seconds: no new calls, calls in flight left on the PBX
for the next start to re-attach, unused claims given back, the recorder flushed for a bounded time. A
second Ctrl-C leaves at once (what was not written is resolved by the next start's recovery). A
background task that cannot run stops it the same way, with the reason and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import asyncpg
from rich.console import Console

from ami.client import AmiClient
from ami.cluster import PbxCluster
from config.servers import load_servers
from config.settings import Settings
from dialer import collector
from dialer.clock import SystemClock
from dialer.config import EngineConfig
from dialer.control import ControlPlane, encode, picture_doc
from dialer.engine import Engine
from dialer.metrics import MetricsServer
from dialer.ownership.campaigns import CampaignOwnership
from dialer.servers import ServerAffinity, build_cluster, close_cluster, start_cluster
from dialer.sim.operators import SimulatedOperators
from dialer.store import engines, pictures
from lists import database

log = logging.getLogger(__name__)
STOP_S = 4.0     # the whole stop, inside the 5 s a person (or systemd's SIGTERM) may fairly wait


class _OneLine(logging.Filter):
    """A warning logged with its traceback, told in one line with the error's type and message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno < logging.ERROR:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


def quiet_pool_retries() -> None:
    """asyncpg's pool logs each failed try to restore its connections while the store is down with the whole
    traceback (every few seconds, then every minute): read as a crash. Ours say the outage in one line."""
    pool_log = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, _OneLine) for f in pool_log.filters):
        pool_log.addFilter(_OneLine())


class EngineNameTaken(Exception):
    """Another engine of the same name runs on the store: this one would take its calls for a dead one's."""


class EngineStopped(Exception):
    """The engine stopped on its own: a background task could not run."""


async def serve(settings: Settings, store_url: str, *, operator_channel: str, console: Console,
                metrics: tuple[str, int] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_pool_retries()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_on(sig: signal.Signals) -> None:
        if stop.is_set():     # the second Ctrl-C: out now; the next start's recovery resolves what is left
            os.write(2, b"stopped at once: calls in flight stay on the PBX for the next start\n")
            os._exit(130)
        log.info("%s: stopping (a second Ctrl-C stops at once)", sig.name)
        stop.set()

    # its switches from the environment (DIALER_CHECK_FLOOR) are refused before anything starts
    config = EngineConfig(name=settings.engine_name, operator_channel_template=operator_channel)
    servers = load_servers(settings.ami_servers_file) if settings.ami_servers_file else []
    db = await database.open_db(store_url)
    # The name signs claims and attempts: a second engine under it would re-attach the first one's calls as
    # a dead engine's. Held by one session for the engine's life (a crashed engine's goes with its socket).
    name_session = await db.acquire()
    if not await engines.hold_name(name_session, settings.engine_name):
        await db.release(name_session)
        await db.close()
        raise EngineNameTaken(f"an engine named {settings.engine_name!r} is already running on this store; stop "
                              "it first, or give this one another name (DIALER_ENGINE_NAME=engine-2)")
    pbx: AmiClient | PbxCluster
    if servers:                        # several Asterisk servers, each with its limits (dialer/servers.py)
        pbx = build_cluster(servers)
        await start_cluster(pbx)
    else:
        pbx = AmiClient(settings.ami_host, settings.ami_port, settings.ami_username,
                        settings.ami_secret.get_secret_value(), control_session=True)
        await pbx.start()
    engine = Engine(db, pbx, SystemClock(), config)
    if isinstance(pbx, PbxCluster):
        ServerAffinity(engine, pbx, {s.name: s.operators for s in servers})
    SimulatedOperators(engine, mean_wrap_s=10.0)
    # Several engines may share the store: each runs only the campaigns it owns (dialer/ownership/campaigns.py).
    ownership = CampaignOwnership(engine)
    await ownership.start()
    # From here a signal stops the engine in order (before, Ctrl-C interrupts the start-up as any program).
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_on, sig)
    await engine.start()
    # Campaigns started, paused or tuned from the CLI or the watch view apply within a second.
    control = ControlPlane(engine, picture_s=1.0)
    await control.start()
    # a full garbage collection stops the loop for long, and finds nothing on a floor: collections at
    # moments of the engine's choosing (dialer/collector.py)
    collecting = engine.supervisor.tasks()
    collector.settle(collecting, in_flight=lambda: len(engine.calls))
    exporter = MetricsServer(engine, *metrics) if metrics else None
    if exporter is not None:
        await exporter.start()
        console.print(f"metrics: http://{exporter.host}:{exporter.port}/metrics")
    console.print(f"engine {settings.engine_name}: {len(engine.runners)} campaign(s) running here "
                  f"(others are owned by other engines or not running); Ctrl-C stops")
    try:
        stopped = asyncio.ensure_future(stop.wait())
        failed = asyncio.ensure_future(engine.supervisor.failed())
        await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        failed.cancel()
    finally:
        began = loop.time()
        await collecting.cancel_all()        # automatic collection is back for the stop
        try:
            async with asyncio.timeout(STOP_S):
                if exporter is not None:
                    await exporter.close()
                await control.close()
                await engine.stop(drain_s=0, flush_s=STOP_S / 2)
                # the last picture: the consoles of the people the stop logged out say why, and every view
                # knows at once that nobody runs these campaigns now (not only when the picture grows old)
                try:
                    await pictures.publish(db, engine=engine.config.name, at=engine.clock.now(),
                                           doc=encode({**picture_doc(engine), "stopped": True}))
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("the consoles were not told of the stop: store unreachable (%s)",
                                type(exc).__name__)
        except TimeoutError:
            log.error("the engine did not stop within %.0f s; the next start's recovery resolves what is left",
                      STOP_S)
        try:
            async with asyncio.timeout(1.0):
                await (close_cluster(pbx) if isinstance(pbx, PbxCluster) else pbx.close())
                await db.release(name_session)
                await db.close()
        except TimeoutError:
            db.terminate()
        log.info("stopped in %.1f s", loop.time() - began)
    if engine.supervisor.failure is not None:
        raise EngineStopped(f"the engine stopped: {engine.supervisor.failure}")
