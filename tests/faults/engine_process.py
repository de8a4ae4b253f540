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
import signal
from pathlib import Path

from ami.client import AmiClient
from dialer.clock import SystemClock
from dialer.config import EngineConfig
from dialer.engine import Engine
from dialer.sim_operators import SimulatedOperators
from lists import database

USER, SECRET = "dialer", "faults-secret"


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s engine %(levelname)s %(name)s: %(message)s")
    pool = await database.open_pool(os.environ["DIALER_DATABASE_URL"], search_path=args.schema, min_size=2,
                                    max_size=4)
    pbx = AmiClient("127.0.0.1", args.ami_port, USER, SECRET, ping_interval=1.0, ping_timeout=1.0,
                    reconnect_backoff=(0.1, 0.5))
    await pbx.start()
    engine = Engine(pool, pbx, SystemClock(), EngineConfig(
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
    await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ami-port", type=int, required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--name", default="engine-1")
    parser.add_argument("--state-file", required=True)
    asyncio.run(main(parser.parse_args()))
