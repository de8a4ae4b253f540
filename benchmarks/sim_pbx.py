"""AMI simulator figures: many concurrent calls over real TCP in virtual time, as the demo and the
pacing benchmarks run it. Prints wall time, events, peak live channels and memory.

    .venv/bin/python benchmarks/sim_pbx.py --calls 10000 --talk 600
    .venv/bin/python benchmarks/sim_pbx.py --calls 10000 --talk 600 --user dialer-lp   # least privilege
    .venv/bin/python benchmarks/sim_pbx.py --calls 10000 --talk 600 --filtered         # config/asterisk filters
    .venv/bin/python benchmarks/sim_pbx.py --calls 10000 --no-hold                     # dialer-answered runs

Calls are originated at ``--rate`` per (virtual) second on one AMI session, as a dialer ramps up; the
world answers a share of them after 3–15 s of ringing and keeps answered callees talking ``--talk``
seconds, so with the defaults nearly every call is alive at the peak. CPU seconds are the figure to read
(the machine may be shared); a Local call is two channels.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

import looptime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ami.simulator import ParametricCallees, default_users, start_simulator
from ami.simulator.permissions import users_from_manager_conf
from ami.wire import Message, Parser

CONFIG = Path(__file__).resolve().parent.parent / "config" / "asterisk" / "manager.conf"


async def run(calls: int, rate: float, answer: float, talk: float, user: str, filtered: bool,
              hold: bool) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    users = users_from_manager_conf(CONFIG.read_text()) if filtered else default_users()
    if filtered:
        user = "dialer"
    busy = min(0.05, 1 - answer)
    callees = ParametricCallees(answer=answer, busy=busy, congestion=0.0, ring_s=(3, 15), talk_mean_s=talk,
                                talk_sigma=0.0, seed=1)
    sim = await start_simulator(callees=callees, users=users)
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    parser = Parser()
    counts = {"events": 0, "originate_responses": 0}
    logged_in = asyncio.Event()
    all_done = asyncio.Event()

    async def read() -> None:
        while data := await reader.read(1 << 16):
            for m in parser.feed(data):
                if m.response is not None and m.action_id == "login":
                    logged_in.set()
                elif m.event is not None:
                    counts["events"] += 1
                    if m.event == "OriginateResponse":
                        counts["originate_responses"] += 1
                        if counts["originate_responses"] == calls:
                            all_done.set()

    reading = asyncio.create_task(read())
    writer.write(Message.of(Action="Login", Username=user, Secret="change-me", ActionID="login").to_bytes())
    await logged_in.wait()
    wall0, cpu0, t0 = time.perf_counter(), time.process_time(), loop.time()
    # --hold: answered calls run Echo (as if handed to an operator) until the callee hangs up; without
    # it they run dialer-answered, which hangs up after Wait(30) when no Redirect comes.
    target = {"Application": "Echo"} if hold else {"Context": "dialer-answered", "Exten": "s", "Priority": "1"}
    per_tick = max(1, round(rate / 10))
    peak = 0
    for first in range(0, calls, per_tick):
        batch = range(first, min(calls, first + per_tick))
        writer.write(b"".join(
            Message.of(Action="Originate", ActionID=f"o{i}", Channel=f"Local/7495{i:07d}@pstn", **target,
                       Timeout=30000, Async="true", ChannelId=f"att-{i}", OtherChannelId=f"att-{i}-2",
                       Variable=[f"ATTEMPT_ID=att-{i}"]).to_bytes() for i in batch))
        await asyncio.sleep(0.1)
        peak = max(peak, len(sim.channels))
    while not all_done.is_set() or sim.channels:
        await asyncio.sleep(1.0)
        peak = max(peak, len(sim.channels))
        if reading.done():
            raise RuntimeError(f"the AMI session ended early: {reading.exception()!r}")
        if loop.time() - t0 > talk * 20 + 3600:
            raise RuntimeError("calls did not end")
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    virtual = loop.time() - t0
    writer.close()
    reading.cancel()
    await sim.close()
    return {"calls": calls, "answered": sim.tally.answered, "peak live channels": peak,
            "events received": counts["events"], "wall s": round(wall, 2), "cpu s": round(cpu, 2),
            "virtual s": round(virtual, 1),
            "events per cpu s": round(counts["events"] / cpu), "calls per cpu s": round(calls / cpu),
            "max RSS MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "sessions dropped": sim.tally.sessions_dropped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0, help="originates per virtual second")
    parser.add_argument("--answer", type=float, default=0.95)
    parser.add_argument("--talk", type=float, default=600.0, help="talk time of every answered call, seconds")
    parser.add_argument("--user", default="dialer", help="dialer (reads all) or dialer-lp (least privilege)")
    parser.add_argument("--filtered", action="store_true", help="use config/asterisk/manager.conf (eventfilters)")
    parser.add_argument("--no-hold", dest="hold", action="store_false",
                        help="answered calls run dialer-answered (gone after 30 s) instead of staying up")
    args = parser.parse_args()
    loop = looptime.new_event_loop(noop_cycles=42)
    try:
        figures = loop.run_until_complete(
            run(args.calls, args.rate, args.answer, args.talk, args.user, args.filtered, args.hold))
    finally:
        loop.close()
    for name, value in figures.items():
        print(f"{name:>20}: {value}")


if __name__ == "__main__":
    main()
