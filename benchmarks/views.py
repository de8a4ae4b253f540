"""The people's views: how fast a snapshot reaches a view, what it costs the store, how long the watch view
takes to draw a big floor, how long ``dialer report`` takes on a big campaign, and what one operator's
console and the engine pay per snapshot and per change of an operator on a big floor.

    DIALER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/views.py
    … --snapshots 300 --operators 100 --attempts 200000
    … --parts console --operators 2000

Without DIALER_DATABASE_URL an embedded PostgreSQL is started in a temporary directory. Everything runs in a
schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.control import encode
from dialer.reports import make_report
from dialer.store import pictures as pictures_module
from dialer.views.feed import PictureFeed
from dialer.views.operator_console import FloorChanged
from dialer.views.picture import FloorPicture, parse_picture
from dialer.views.watch import WatchApp
from lists import database

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
STATES = ("ready", "on_call", "wrap_up", "paused", "reserved")


def doc(engine: str, operators: int, serial: int, rng: random.Random) -> dict[str, Any]:
    campaign = {
        "id": 1, "name": "bench", "mode": "predictive", "effective_mode": "predictive", "alpha": 0.025,
        "settings": {"target_abandon": 0.025, "abandon_cap": 0.03, "max_lines_per_operator": 3.0, "ratio": 1.5,
                     "warmup_answers": 30, "safe_harbor_s": 2.0, "window_hours": 24.0},
        "estimates": {"answer_rate": 0.3, "mean_ring_to_answer_s": 10.0, "mean_talk_s": 180.0, "mean_wrap_s": 10.0,
                      "samples": serial, "ring_cdf": [i / 30 for i in range(31)]},
        "calls": {"originating": rng.randint(0, 40), "waiting": 1, "handing_off": 0, "connected": operators // 2,
                  "safe_harbor": 0},
        "abandonment": {"window_hours": 24, "answers": 1000 + serial, "abandons": 20, "rate": 20 / (1000 + serial),
                        "cap": 0.03, "last_hour": {"answers": 300, "abandons": 5}},
        "totals": {"originated": 3 * serial, "answered": serial, "connected": serial, "abandoned": 0},
    }
    ops = [{"id": i, "name": f"Operator {i:03d}", "extension": str(100 + i), "state": rng.choice(STATES),
            "since_s": rng.uniform(0, 600), "campaigns": [1], "attempt_id": None, "lead_id": None,
            "calls": rng.randint(0, 80), "talk_s": rng.uniform(0, 20000), "occupancy": rng.random()}
           for i in range(1, operators + 1)]
    return {"engine": engine, "at": (NOW + timedelta(seconds=serial)).isoformat(), "campaigns": [campaign],
            "operators": ops}


def percentiles(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{label}: n={len(samples)} p50 {statistics.median(samples) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, "
          f"max {ordered[-1] * 1e3:.2f} ms")


async def feed_latency(db: asyncpg.Pool, snapshots: int, operators: int, rng: random.Random) -> None:
    """Engine side as the control plane does it (upsert + NOTIFY), one per 50 ms; view side is the feed."""
    arrived: dict[int, float] = {}
    def on_floor(floor: FloorPicture) -> None:
        if floor.campaigns:
            arrived.setdefault(int(floor.campaigns[0].estimates["samples"]), time.perf_counter())

    feed = PictureFeed(db, on_floor)
    await feed.start()
    sent: dict[int, float] = {}
    async with db.acquire() as engine_conn:
        for serial in range(1, snapshots + 1):
            body = json.dumps(doc("engine-1", operators, serial, rng))
            sent[serial] = time.perf_counter()
            await engine_conn.execute(
                """INSERT INTO engine_picture (engine, at, doc) VALUES ('engine-1', $1, $2::jsonb)
                   ON CONFLICT (engine) DO UPDATE SET at = EXCLUDED.at, doc = EXCLUDED.doc""",
                NOW + timedelta(seconds=serial), body)
            await engine_conn.execute("SELECT pg_notify('dialer_picture', 'engine-1')")
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    await feed.stop()
    latencies = [arrived[s] - sent[s] for s in sent if s in arrived]
    print(f"feed: {len(arrived)}/{snapshots} snapshots seen ({operators} operators each), "
          f"{feed.reads} reads of engine_picture (1 at start + 1 per notification burst), no polling")
    percentiles("feed: upsert+NOTIFY → FloorPicture in the view", latencies)
    slow = sorted(((arrived[s] - sent[s], s) for s in sent if s in arrived), reverse=True)[:3]
    print("feed: slowest: " + ", ".join(f"#{s} {t * 1e3:.0f} ms" for t, s in slow))


async def watch_render(db: asyncpg.Pool, operators: int, rng: random.Random, rounds: int = 60) -> None:
    app = WatchApp(db, _Clock(), campaign="bench", listen=False)
    timings: list[float] = []
    async with app.run_test(size=(160, 60)) as pilot:
        for serial in range(1, rounds + 1):
            floor = parse_picture([doc("engine-1", operators, serial, rng)])
            start = time.perf_counter()
            await app.on_floor_changed(FloorChanged(floor))
            timings.append(time.perf_counter() - start)
            await pilot.pause()
    percentiles(f"watch: render a snapshot of {operators} operators (table, panels, plots)", timings)


async def console_share(db: asyncpg.Pool, operators: int, rng: random.Random, rounds: int = 50) -> None:
    """One console's read of the snapshot, whole (every console before) or only its operator's entry; and
    the engine's encoding of the whole floor against one operator's entry (what goes out on a change)."""
    whole = doc("engine-1", operators, 1, rng)
    body = json.dumps(whole)
    await db.execute("""INSERT INTO engine_picture (engine, at, doc) VALUES ('engine-1', $1, $2::jsonb)
                          ON CONFLICT (engine) DO UPDATE SET at = EXCLUDED.at, doc = EXCLUDED.doc""", NOW, body)
    me = operators // 2
    for label, sql, args in (("whole doc", pictures_module._WHOLE, (None,)),
                             ("its operator's entry", pictures_module._ONE_OPERATOR, (None, me))):
        wall, cpu = [], []
        for _ in range(rounds):
            started, started_cpu = time.perf_counter(), time.process_time()
            rows = await db.fetch(sql, *args)
            parse_picture([json.loads(r["doc"]) for r in rows])
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        print(f"console: read and parse the snapshot, {label} ({operators} operators, {len(body) / 1e3:.0f} kB "
              f"whole): p50 {statistics.median(wall) * 1e3:.2f} ms wall, "
              f"{statistics.median(cpu) * 1e3:.2f} ms CPU in the console")
    entry = whole["operators"][me]
    for label, value in (("the whole floor", whole), ("one operator's entry", entry)):
        took = []
        for _ in range(rounds):
            started = time.process_time()
            encode(value)
            took.append(time.process_time() - started)
        print(f"engine: encode {label}: {statistics.median(took) * 1e3:.3f} ms CPU")


class _Clock:
    def now(self) -> datetime:
        return NOW


async def report_speed(db: asyncpg.Pool, attempts: int, operators: int, rng: random.Random) -> None:
    campaign = await db.fetchval(
        """INSERT INTO campaign (name, channel_template, caller_id, timezone)
           VALUES ('bench', 'L/{phone}', '1', 'Europe/Moscow') RETURNING id""")
    lists = [await db.fetchval("INSERT INTO call_list (campaign_id, name, source) VALUES ($1, $2, 'b') RETURNING id",
                                 campaign, f"list-{i}") for i in range(5)]
    ops = [await db.fetchval("INSERT INTO operator (name, extension) VALUES ($1, $2) RETURNING id",
                               f"Operator {i:03d}", str(1000 + i)) for i in range(operators)]
    await db.executemany("INSERT INTO campaign_operator VALUES ($1, $2)", [(campaign, o) for o in ops])
    leads = await db.fetch(
        """INSERT INTO lead (campaign_id, list_id, phone)
           SELECT $1, ($2::bigint[])[1 + g % 5], '+7916' || lpad(g::text, 7, '0') FROM generate_series(1, $3) g
           RETURNING id""", campaign, lists, attempts // 2)
    lead_ids = [r["id"] for r in leads]
    day_s = 10 * 3600
    rows = []
    for _ in range(attempts):
        claimed = NOW + timedelta(seconds=rng.uniform(0, day_s))
        answered = rng.random() < 0.3
        connected = answered and rng.random() < 0.98
        talk = rng.expovariate(1 / 180) if connected else 0
        rows.append((rng.choice(lead_ids), campaign, claimed,
                     claimed + timedelta(seconds=8) if answered else None,
                     claimed + timedelta(seconds=9) if connected else None,
                     claimed + timedelta(seconds=9 + talk if connected else 25),
                     answered and not connected, rng.choice(ops) if connected else None,
                     rng.choice(("sale", "not_interested", "callback", "information_sent")) if connected else None))
    start = time.perf_counter()
    await db.copy_records_to_table(
        "attempt", records=[(r[0], r[1], "x", "y", "e", r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows],
        columns=["lead_id", "campaign_id", "phone", "caller_id", "engine", "claimed_at", "answered_at",
                 "connected_at", "ended_at", "abandoned", "operator_id", "disposition"])
    sessions = []
    for op in ops:   # a working day: ready / on call / wrap-up cycles
        t = NOW
        while t < NOW + timedelta(seconds=day_s):
            for state, mean in (("ready", 40), ("on_call", 180), ("wrap_up", 15)):
                end = t + timedelta(seconds=rng.expovariate(1 / mean))
                sessions.append((op, state, t, end))
                t = end
    await db.copy_records_to_table("operator_session", records=sessions,
                                     columns=["operator_id", "state", "started_at", "ended_at"])
    await db.execute("ANALYZE")
    print(f"report: {attempts} attempts, {len(sessions)} operator_session rows, {operators} operators "
          f"(loaded in {time.perf_counter() - start:.1f} s)")
    for by in ("operator", "hour", "disposition", "list"):
        took = []
        for _ in range(3):
            start = time.perf_counter()
            report = await make_report(db, "bench", by=by, until=NOW + timedelta(days=1))
            took.append(time.perf_counter() - start)
        print(f"report: dialer report bench --by {by}: {len(report.rows)} rows in "
              + " / ".join(f"{t * 1e3:.0f}" for t in took) + " ms (3 runs)")


async def run(args: argparse.Namespace) -> None:
    url = os.environ.get("DIALER_DATABASE_URL") or database.locate(
        None, Path(tempfile.mkdtemp(prefix="dialer-bench-"))).url
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    rng = random.Random(args.seed)
    try:
        db = await database.open_db(url, search_path=schema, max_size=4)
        try:
            parts = set(args.parts.split(","))
            if "feed" in parts:
                await feed_latency(db, args.snapshots, args.operators, rng)
            if "watch" in parts:
                await watch_render(db, args.operators, rng)
            if "console" in parts:
                await console_share(db, args.operators, rng)
            if "report" in parts:
                await report_speed(db, args.attempts, args.operators, rng)
        finally:
            await db.close()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--operators", type=int, default=50)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parts", default="feed,watch,console,report", help="which measures, comma-separated")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
