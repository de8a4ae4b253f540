"""Call-list figures: a million-row import against a plain COPY of the same file, and claiming from a
10-million-lead campaign with 4 concurrent claimers (leads/s and duplicates, which must be 0). The claim
is the engine's own round (``dialer.claims.Claimer.claim``), compliance included.

    DIALER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/lists.py
    … --rows 1000000 --leads 10000000 --claimers 4 --batch 10 --seconds 20

Without DIALER_DATABASE_URL an embedded PostgreSQL is started in a temporary directory. Everything runs in
a schema of its own, dropped at the end (unless named with --schema, which also reuses a filled one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance import store as compliance_store
from compliance.rules import CampaignRules
from dialer.claims import Claimer, Fence
from dialer.store.ownership import still_owner
from lists import campaigns, database, importer, zones
from lists.phones import normalize

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CITIES = ["Москва", "Тверь", "Казань", "Самара", "Пермь", "Омск"]


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    """A Russian Excel-like export: cp1251, ';', phones in the three shapes people type."""
    rng = random.Random(seed)
    prefixes = (903, 905, 906, 909, 915, 916, 917, 925, 926, 929, 985)  # valid Russian mobile ranges
    numbers = [prefixes[k % len(prefixes)] * 10_000_000 + k // len(prefixes)
               for k in rng.sample(range(len(prefixes) * 10_000_000), rows)]
    with path.open("w", encoding="cp1251", newline="") as f:
        f.write("ФИО;Телефон;Город;Комментарий\r\n")
        for i, n in enumerate(numbers):
            s = str(n)
            shape = i % 10
            if shape < 7:
                phone = f"8 ({s[:3]}) {s[3:6]}-{s[6:8]}-{s[8:]}"
            elif shape < 9:
                phone = f"+7 {s[:3]} {s[3:6]}-{s[6:8]}-{s[8:]}"
            else:
                phone = f"7{s}"  # no '+': takes phonenumbers' slow path
            f.write(f"Клиент {i};{phone};{CITIES[i % len(CITIES)]};строка {i}\r\n")


def backend_cpu_s(pid: int) -> float:
    """CPU seconds a local PostgreSQL backend has used (Linux /proc; NaN when the server is elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench_import(url: str, schema: str, rows: int) -> None:
    path = Path(tempfile.mkdtemp(prefix="dialer-bench-")) / "leads.csv"
    started = time.perf_counter()
    write_csv(path, rows)
    print(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    db = await database.open_db(url, search_path=schema, max_size=2)
    async with db.acquire() as conn:
        campaign = await conn.fetchval(
            """INSERT INTO campaign (name, channel_template, caller_id, timezone, default_region)
               VALUES ($1, 'Local/{phone}@b', '1', 'Europe/Moscow', 'RU') RETURNING id""",
            f"bench-import-{os.getpid()}")
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        started, cpu, server_cpu = time.perf_counter(), time.process_time(), backend_cpu_s(backend)
        report = await importer.import_file(conn, campaign_id=campaign, path=path, now=NOW)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = backend_cpu_s(backend) - server_cpu
        print(f"importer (dialer lists load): {report.loaded:,} leads in {took:.1f} s "
              f"= {report.loaded / took:,.0f} rows/s (errors {len(report.errors)}, "
              f"duplicates {report.duplicates_in_file + report.duplicates_in_campaign}); "
              f"CPU: Python {cpu:.1f} s, PostgreSQL backend {server_cpu:.1f} s;"
              f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        await conn.execute("CREATE TABLE plain_copy (name text, phone text, city text, note text)")
        started = time.perf_counter()
        with path.open("rb") as f:
            await conn.copy_to_table("plain_copy", source=f, format="csv", delimiter=";", header=True,
                                     encoding="WIN1251")
        took_copy = time.perf_counter() - started
        print(f"plain COPY of the same file into a bare text table: {took_copy:.1f} s "
              f"(importer / COPY = {took / took_copy:.1f}x)")
    await db.close()
    path.unlink()


async def fill(conn: asyncpg.Connection, campaign: int, count: int) -> None:
    """``count`` leads as an import of Russian numbers leaves them: most in Moscow's zone, every fourth a
    mobile whose number gives several candidate zones; a company DNC list of a million numbers, 1 % of
    the leads among them; the campaign under the RU preset (calling hours, contact caps)."""
    await conn.execute("DROP INDEX IF EXISTS lead_claim_order, lead_leased")
    await conn.execute("ALTER TABLE lead DROP CONSTRAINT lead_campaign_id_phone_key")
    moscow, mobile = await zones.zone_set_ids(conn, [("Europe/Moscow",), RU_MOBILE_ZONES])
    await conn.execute(
        """INSERT INTO lead (campaign_id, phone, timezone, timezone_set, priority)
           SELECT $1, '+79' || lpad(g::text, 9, '0'), CASE WHEN g % 4 = 0 THEN NULL ELSE 'Europe/Moscow' END,
                  CASE WHEN g % 4 = 0 THEN $4::int ELSE $3::int END, 0
           FROM generate_series(1, $2::int) g""",
        campaign, count, moscow, mobile,
    )
    await conn.execute(
        """INSERT INTO dnc (phone, scope, source, added_at)
           SELECT '+79' || lpad((CASE WHEN g % 10 = 0 THEN g / 10 * 100 + 7 ELSE $1 + g END)::text, 9, '0'),
                  'company', 'bench', $2
           FROM generate_series(1, 1000000) g ON CONFLICT DO NOTHING""",
        count, NOW,
    )
    await conn.execute("ALTER TABLE lead ADD CONSTRAINT lead_campaign_id_phone_key UNIQUE (campaign_id, phone)")
    await conn.execute(
        "CREATE INDEX lead_claim_order ON lead (campaign_id, category, (-priority), next_due_at, id) "
        "WHERE state = 'ready'")
    await conn.execute("CREATE INDEX lead_leased ON lead (claimed_by, lease_until) WHERE state = 'claimed'")
    await conn.execute("VACUUM ANALYZE lead")
    await conn.execute("VACUUM ANALYZE dnc")
    await compliance_store.set_campaign_rules(conn, campaign, CampaignRules(preset="RU"))


async def earlier_attempts(conn: asyncpg.Connection, campaign: int) -> None:
    """A list in its second month is not a list never dialed: one lead in ten was called, unanswered, on one
    of the 29 days before, so the contact caps the claim screens with (compliance/store.py) read real
    rows. (With an empty attempt table the history lookup also planned as a table scan, kept for the
    connection's life: a cost no store that has dialed a day pays.)"""
    await conn.execute(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, state, claimed_at, ended_at,
                                outcome)
           SELECT id, campaign_id, phone, '+74951234567', 'earlier', 'ended',
                  $2::timestamptz - (id % 29 + 1) * interval '1 day',
                  $2::timestamptz - (id % 29 + 1) * interval '1 day' + interval '30 seconds', 'no_answer'
           FROM lead WHERE campaign_id = $1 AND id % 10 = 3""",
        campaign, NOW)


# The zones phonenumbers gives a Russian mobile number (lists/phones.py), as the importer stores them.
FREE_OPERATORS = list(range(1, 21))   # the engine passes its free operators (personal callbacks wait for theirs)
RU_MOBILE_ZONES = normalize("+79031234567", "RU").timezones


async def bench_claim(url: str, schema: str, count: int, claimers: int, batch: int, seconds: float,
                      durable: bool) -> None:
    """What the engine runs per dialing round (``dialer.claims.Claimer.claim``: ownership fence, compliance
    gate, claim, per-lead screening, attempt rows, one transaction), from ``claimers`` engines at once."""
    db = await database.open_db(url, search_path=schema, max_size=claimers + 1)
    async with db.acquire() as conn:
        campaign_id = await conn.fetchval("SELECT id FROM campaign WHERE name = 'bench-claim'")
        if campaign_id is None:
            campaign_id = await conn.fetchval(
                """INSERT INTO campaign (name, channel_template, caller_id, timezone, default_region)
                   VALUES ('bench-claim', 'Local/{phone}@b', '+74951234567', 'Europe/Moscow', 'RU')
                   RETURNING id""")
            started = time.perf_counter()
            await fill(conn, campaign_id, count)
            print(f"filled {count:,} leads and 1,000,000 DNC numbers (generate_series, indexes, analyze) in "
                  f"{time.perf_counter() - started:.0f} s")
        campaign = await campaigns.get_by_id(conn, campaign_id)
        # the engine fences every claim with its campaign ownership (dialer/ownership/campaigns.py); the 4 claimers
        # share one owner row, so the fence costs here what it costs an engine
        await conn.execute(
            """INSERT INTO campaign_owner (campaign_id, engine, epoch, backend_pid, acquired_at, heartbeat_at)
               VALUES ($1, 'bench', 1, pg_backend_pid(), now(), now())
               ON CONFLICT (campaign_id) DO UPDATE SET engine = 'bench', epoch = 1, released_at = NULL""",
            campaign_id)
        print(f"campaign of {await conn.fetchval('SELECT count(*) FROM lead WHERE campaign_id = $1', campaign.id):,} "
              f"leads, preset {(await compliance_store.campaign_rules(conn, campaign.id)).preset}")

    server_cpu = 0.0
    fence = Fence("bench", 1, partial(still_owner, campaign_id=campaign.id, engine="bench", epoch=1))

    async def claimer(name: str, deadline: float) -> tuple[list[int], list[float]]:
        nonlocal server_cpu
        got: list[int] = []
        latencies: list[float] = []
        engine = Claimer(campaign.id)
        async with db.acquire() as conn:
            if not durable:
                await conn.execute("SET synchronous_commit = off")
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            used = backend_cpu_s(backend)
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                dials = await engine.claim(conn, campaign, wanted=batch, now=NOW, engine=name, pbx="bench",
                                           lease_s=300, fence=fence, free_operators=FREE_OPERATORS)
                latencies.append(time.perf_counter() - t)
                got += [dial.lead.id for dial in dials]
            server_cpu += backend_cpu_s(backend) - used
        return got, latencies

    async with db.acquire() as conn:  # every run starts from a fully ready, vacuumed list
        await conn.execute("UPDATE lead SET state = 'ready', claimed_by = NULL, lease_until = NULL, attempts = 0, "
                           "attempts_today = 0, last_outcome = NULL WHERE state <> 'ready'")
        await conn.execute("DELETE FROM attempt WHERE claimed_at >= $1", NOW)   # the last run's
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM attempt)"):
            started = time.perf_counter()
            await earlier_attempts(conn, campaign.id)
            print(f"wrote the contact history of earlier days in {time.perf_counter() - started:.0f} s")
        await conn.execute("VACUUM ANALYZE lead")
        await conn.execute("VACUUM ANALYZE attempt")
    load = os.getloadavg()
    started, cpu = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*(
        claimer(f"engine-{i}", started + seconds) for i in range(claimers)))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    ids = [i for got, _ in results for i in got]
    latencies = sorted(x for _, lat in results for x in lat)
    duplicates = len(ids) - len(set(ids))
    async with db.acquire() as conn:
        in_db = await conn.fetchval("SELECT count(*) FROM lead WHERE state = 'claimed'")
        opened = await conn.fetchval("SELECT count(*) FROM attempt WHERE claimed_at >= $1", NOW)
        on_dnc = await conn.fetchval(
            "SELECT count(*) FROM attempt a WHERE claimed_at >= $1 AND EXISTS (SELECT 1 FROM dnc d WHERE "
            "d.phone = a.phone)", NOW)
    print(f"claim{'' if durable else ' (synchronous_commit off)'}: {claimers} claimers × batches of {batch} for "
          f"{took:.1f} s: {len(ids):,} leads = {len(ids) / took:,.0f} leads/s; duplicates {duplicates}; "
          f"rows marked claimed {in_db:,}; attempt rows {opened:,}; dialed DNC numbers {on_dnc}; "
          f"claim latency p50 {statistics.median(latencies) * 1e3:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1e3:.1f} ms; load average before "
          f"{load[0]:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if len(ids):
        # CPU per lead says less about the machine's other work than leads/s does, though a crowded
        # machine inflates it too (caches, lock waits): measured 0.2 ms/lead at load 8, 0.39 at load 12
        per_lead = (cpu + server_cpu) / len(ids)
        print(f"CPU per 1,000 leads: Python {cpu / len(ids) * 1e3:.3f} s, PostgreSQL backends "
              f"{server_cpu / len(ids) * 1e3:.3f} s "
              f"→ {os.cpu_count() / per_lead:,.0f} leads/s if all {os.cpu_count()} cores were ours at this "
              "CPU per lead (WAL writer and disk waits not counted)")
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=10_000_000)
    parser.add_argument("--claimers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--async-commit", action="store_true",
                        help="claim with synchronous_commit off (no WAL flush wait per claim)")
    parser.add_argument("--skip-claim", action="store_true")
    parser.add_argument("--schema", help="reuse (or keep) this schema, e.g. to run the claim with other batches "
                        "without filling 10 million leads again")
    args = parser.parse_args()
    url = os.environ.get("DIALER_DATABASE_URL") or database.locate(None, Path(tempfile.mkdtemp())).url
    schema = args.schema or f"bench_lists_{os.getpid()}"
    conn = await asyncpg.connect(url)
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    try:
        if not args.skip_import:
            await bench_import(url, schema, args.rows)
        if not args.skip_claim:
            await bench_claim(url, schema, args.leads, args.claimers, args.batch, args.seconds,
                              not args.async_commit)
    finally:
        if not args.schema:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
