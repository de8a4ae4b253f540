"""The engine as its own process, for the fault tests: what ``dialer run`` does, with a compressed world.

    python -m tests.faults.engine_process --ami-port P --schema S --state-file F   (store URL in DIALER_DATABASE_URL)

Real time, the system clock, simulated operators with short wrap-ups, a fast heartbeat. SIGTERM stops it
cleanly and writes ``--state-file`` (the ledger's counts per campaign, as this process holds them);
SIGKILL is what the test uses to crash it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
import time
from pathlib import Path

from ami.client import AmiClient
from ami.pbx import ChannelHungUp, PbxEvent
from dialer.clock import SystemClock
from dialer.config import EngineConfig
from dialer.engine import Engine
from dialer.sim.operators import SimulatedOperators
from lists import database

USER, SECRET = "dialer", "faults-secret"
ATTEMPT_CHANNEL = re.compile(r"^attempt-\d+$")


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s engine %(levelname)s %(name)s: %(message)s")
    db = await database.open_db(os.environ["DIALER_DATABASE_URL"], search_path=args.schema, min_size=2,
                                    max_size=4)
    pbx = AmiClient("127.0.0.1", args.ami_port, USER, SECRET, ping_interval=1.0, ping_timeout=1.0,
                    reconnect_backoff=(0.1, 0.5))
    await pbx.start()
    pbx.subscribe(_say_when_heard)     # before the engine: logged no later than the engine acts on it
    engine = Engine(db, pbx, SystemClock(), EngineConfig(
        name=args.name, tick_s=0.1, heartbeat_s=1.0, lease_s=5.0, record_linger_s=0.02,
        wrap_up_max_s=5.0, operator_channel_template="Local/{ext}@operators"))
    SimulatedOperators(engine, mean_wrap_s=0.3, seed=os.getpid())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await engine.start()
    print("engine started", flush=True)
    await stop.wait()
    await engine.stop(drain_s=30)
    now = asyncio.get_running_loop().time()
    state = {str(cid): list(runner.ledger.counts(now)) for cid, runner in engine.runners.items()}
    Path(args.state_file).write_text(json.dumps({"ledger": state, "calls_left": len(engine.calls)}))
    await pbx.close()
    await db.close()


def _say_when_heard(event: PbxEvent) -> None:
    """Each customer hang-up as this process hears it (wall clock): the test tells from these lines and the
    store which ends a killed engine heard but had not yet written (its write-behind queue dies with it)."""
    if isinstance(event, ChannelHungUp) and ATTEMPT_CHANNEL.match(event.channel_id):
        print(f"heard hangup {event.channel_id} {time.time():.6f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ami-port", type=int, required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--name", default="engine-1")
    parser.add_argument("--state-file", required=True)
    asyncio.run(main(parser.parse_args()))
