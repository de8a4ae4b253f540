"""A campaign group's day through the whole engine: store, PBX simulator over real TCP AMI, virtual time.

Two campaigns (sales and survey) share every simulated operator. With the group (the default) one pacing
loop plans for the pool; with ``--no-group`` the same two campaigns pace alone, each counting the shared
free operators as its own — the double dialing campaign groups remove. Prints, from the store
(``dialer report group``'s figures): per campaign the target and realized share of the pool's handle time
(talk + wrap-up), attempts, answers, connects, abandons; for the pool its abandonment and occupancy.

    .venv/bin/python benchmarks/group_engine.py [--operators 10] [--hours 2] [--mode progressive]
        [--shares 70 30] [--reserved 0] [--no-group] [--seed 1] [--json FILE]

Uses DIALER_DATABASE_URL when set, else the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a script, this folder comes first on sys.path, where benchmarks/compliance.py would shadow the
# compliance package: put the project root first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from ami.client import AmiClient
from ami.simulator import start_simulator
from dialer.clock import LoopClock
from dialer.config import EngineConfig
from dialer.engine import Engine
from dialer.groups.report import make_group_report
from dialer.sim.demo import DEMO_SECRET, DEMO_USER, NOOP_CYCLES, next_working_day
from dialer.sim.operators import SimulatedOperators
from dialer.sim.virtual_time import FreezingConnection, new_virtual_loop
from dialer.sim.world import WorldCallees
from dialer.tuning import validate_pacing
from lists import campaigns, database, groups, operators
from pacing.world import World

ZONE = "Europe/Moscow"
NAMES = ("sales", "survey")


async def set_up(db: asyncpg.Pool, args: argparse.Namespace, now: datetime) -> None:
    ops = [await operators.create(db, name=f"Operator {i + 1}", extension=str(101 + i), simulated=True)
           for i in range(args.operators)]
    await groups.create(db, "floor", reserved=args.reserved, actor="bench", now=now, validate=validate_pacing)
    for n, name in enumerate(NAMES):
        campaign = await campaigns.create(db, name=name, channel_template="Local/{digits}@pstn",
                                          caller_id="+74951234567", mode=args.mode, timezone=ZONE,
                                          default_region="RU")
        await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
        await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, $3)",
                               [(campaign.id, f"+7495{n}{i:06d}", ZONE) for i in range(args.leads)])
        if not args.no_group:
            await groups.set_member(db, "floor", name, share=args.shares[n], actor="bench", now=now)
        await campaigns.set_state(db, name, "running", actor="bench", now=now)


async def day(loop: asyncio.AbstractEventLoop, url: str, args: argparse.Namespace) -> dict[str, Any]:
    schema = f"group_day_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.close()
    db = await database.open_db(url, search_path=schema, min_size=4, max_size=4,
                                    connection_class=FreezingConnection, durable=False)
    world = World(answer_rate=args.answer_rate, talk_mean_s=args.talk, wrap_s=args.wrap)
    simulator = await start_simulator(port=0, callees=WorldCallees(world, seed=args.seed),
                                      users={DEMO_USER: DEMO_SECRET}, order_seed=args.seed)
    pbx = AmiClient("127.0.0.1", simulator.port, DEMO_USER, DEMO_SECRET)
    await pbx.start()
    start = next_working_day(datetime.now(ZoneInfo(ZONE))).replace(hour=9, minute=0, second=0, microsecond=0)
    wall = time.perf_counter()
    try:
        with loop.looptime_enabled():  # type: ignore[attr-defined]
            clock = LoopClock(start, loop)
            await set_up(db, args, clock.now())
            engine = Engine(db, pbx, clock, EngineConfig(operator_channel_template="Local/{ext}@operators",
                                                          record_linger_s=1.0))
            SimulatedOperators(engine, mean_wrap_s=args.wrap, seed=args.seed)
            await engine.start()
            await asyncio.sleep(args.hours * 3600)
            await engine.stop(drain_s=900)
            if args.no_group:    # the same figures for campaigns that paced alone: group them afterwards
                for n, name in enumerate(NAMES):
                    await groups.set_member(db, "floor", name, share=args.shares[n], actor="bench", now=clock.now())
            report = await make_group_report(db, "floor", since=start, until=clock.now())
    finally:
        await pbx.close()
        await simulator.close()
        await db.close()
        conn = await asyncpg.connect(url)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
    members = {m.name: {"target_share": m.target_share, "realized_share": report.realized_share(m),
                        "attempts": m.attempts, "answers": m.answers, "connects": m.connects,
                        "abandons": m.abandons, "abandon_rate": m.abandon_rate} for m in report.members}
    return {"grouped": not args.no_group, "mode": args.mode, "operators": args.operators, "hours": args.hours,
            "reserved": args.reserved, "seed": args.seed, "members": members,
            "pool": {"attempts": report.pool.attempts, "answers": report.pool.answers,
                     "abandons": report.pool.abandons, "abandon_rate": report.pool.abandon_rate,
                     "occupancy": report.occupancy},
            "wall_s": time.perf_counter() - wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operators", type=int, default=10)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--mode", default="progressive")
    parser.add_argument("--shares", type=float, nargs=2, default=[70.0, 30.0])
    parser.add_argument("--reserved", type=int, default=0)
    parser.add_argument("--leads", type=int, default=3000, help="per campaign")
    parser.add_argument("--answer-rate", type=float, default=0.3)
    parser.add_argument("--talk", type=float, default=120.0)
    parser.add_argument("--wrap", type=float, default=10.0)
    parser.add_argument("--no-group", action="store_true", help="the two campaigns pace alone (the old way)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    url = os.environ.get("DIALER_DATABASE_URL") or database.locate(None, Path(tempfile.mkdtemp())).url
    loop = new_virtual_loop(noop_cycles=NOOP_CYCLES)
    try:
        result = loop.run_until_complete(day(loop, url, args))
    finally:
        loop.close()
    print(f"{'grouped' if result['grouped'] else 'NOT grouped'}, {args.mode}, {args.operators} shared operators, "
          f"{args.hours:g} h, reserved {args.reserved}, seed {args.seed} ({result['wall_s']:.0f} s wall)")
    print(f"{'campaign':>9} {'target':>7} {'realized':>8} {'attempts':>8} {'answers':>7} {'connects':>8} "
          f"{'abandons':>8} {'abandon %':>9}")
    for name, m in result["members"].items():
        realized = "—" if m["realized_share"] is None else f"{m['realized_share']:.1%}"
        print(f"{name:>9} {m['target_share']:>7.1%} {realized:>8} {m['attempts']:>8} {m['answers']:>7} "
              f"{m['connects']:>8} {m['abandons']:>8} {m['abandon_rate']:>9.2%}")
    p = result["pool"]
    occupancy = "—" if p["occupancy"] is None else f"{p['occupancy']:.1%}"
    print(f"{'pool':>9} {'':>7} {'':>8} {p['attempts']:>8} {p['answers']:>7} {'':>8} {p['abandons']:>8} "
          f"{p['abandon_rate']:>9.2%}   occupancy {occupancy}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
