"""Compliance figures: how long the rules take per lead (the final check runs on every claimed lead),
open_zones per claim, a registry import, a DNC lookup against it, and the compliance report.

    DIALER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/compliance.py
    … --checks 100000 --registry 1000000 --attempts 100000

Without DIALER_DATABASE_URL an embedded PostgreSQL is started in a temporary directory. The store part runs
in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compliance import store
from compliance.caps import ContactHistory
from compliance.hours import may_call, open_zones, policy_for
from compliance.rules import CampaignRules
from compliance.zones import zones_for_number
from lists import database

NOW = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)
US_NPAS = (212, 305, 310, 312, 405, 415, 512, 617, 702, 713, 786, 801, 904, 954, 208)


def timed(label: str, n: int, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    print(f"{label}: {n} in {elapsed:.3f} s = {elapsed / n * 1e6:.1f} µs each")
    return elapsed


def pure(checks: int, rng: random.Random) -> None:
    us = policy_for("US", campaign_windows={"mon-fri": "09:00-20:00", "sat": "10:00-16:00"})
    zones = sorted({z for npa in US_NPAS for z in zones_for_number(f"+1{npa}5550100")}) + list(
        zones_for_number("+79161234567"))
    moments = [NOW + timedelta(minutes=rng.randrange(0, 7 * 24 * 60)) for _ in range(checks)]
    picks = [rng.choice(zones) for _ in range(checks)]
    timed("may_call (one zone, US preset + campaign windows)", checks,
          lambda: [may_call(z, m, us) for z, m in zip(picks, moments, strict=True)])
    claims = max(checks // 10, 1)
    timed(f"open_zones over {len(zones)} zones (once per claim)", claims,
          lambda: [open_zones(zones, m, us) for m in moments[:claims]])
    rules = CampaignRules(preset="US")
    phones = [f"+1{rng.choice(US_NPAS)}555{rng.randrange(10000):04d}" for _ in range(checks)]
    history = ContactHistory(attempts=(NOW - timedelta(hours=3),))
    timed("CampaignRules.check (state from area code, hours, caps)", checks,
          lambda: [rules.check(p, m, zone="America/New_York", history=history)
                   for p, m in zip(phones, moments, strict=True)])


async def with_store(registry: int, attempts: int, rng: random.Random) -> None:
    url = os.environ.get("DIALER_DATABASE_URL") or database.locate(
        None, Path(tempfile.mkdtemp(prefix="dialer-bench-"))).url
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        db = await database.open_db(url, search_path=schema, max_size=2)
        async with db.acquire() as conn:
            path = Path(tempfile.mkdtemp(prefix="dialer-bench-")) / "registry.txt"
            numbers = rng.sample(range(2_000_000_000, 9_999_999_999), registry)
            path.write_text("".join(f"{n // 10_000_000},{n % 10_000_000:07d}\n" for n in numbers))
            start = time.perf_counter()
            copy = await store.import_registry(conn, path, name="bench", copy_date=NOW.date(), now=NOW)
            print(f"registry import: {copy.entries} numbers in {time.perf_counter() - start:.2f} s")
            probes = [f"+1{rng.choice(numbers)}" for _ in range(1000)]
            start = time.perf_counter()
            hits = sum([await store.is_dnc(conn, p, 1) for p in probes])
            elapsed = time.perf_counter() - start
            print(f"is_dnc against {copy.entries} entries: 1000 lookups in {elapsed:.3f} s "
                  f"({elapsed:.3f} ms each), hits {hits}/1000")
            c = await conn.fetchval("INSERT INTO campaign (name, channel_template, caller_id) VALUES "
                                    "('bench', 'Local/{phone}@t', '+12125550100') RETURNING id")
            await store.set_campaign_rules(conn, c, CampaignRules(preset="US"))
            leads = await conn.fetch(
                "INSERT INTO lead (campaign_id, phone, timezone) SELECT $1, '+1212' || lpad(g::text, 7, '0'), "
                "'America/New_York' FROM generate_series(1, $2) g RETURNING id, phone", c, max(attempts // 4, 1))
            rows = []
            for _ in range(attempts):
                lead = rng.choice(leads)
                at = NOW - timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
                outcome = rng.choice(["connected", "connected", "abandoned", "machine", "busy", "no_answer"])
                answered = at + timedelta(seconds=8) if outcome in ("connected", "abandoned", "machine") else None
                rows.append((lead["id"], c, lead["phone"], "+12125550100", "e1", at, at, answered,
                             answered if outcome == "connected" else None, at + timedelta(minutes=1), outcome,
                             outcome == "abandoned"))
            await conn.copy_records_to_table("attempt", records=rows, columns=[
                "lead_id", "campaign_id", "phone", "caller_id", "engine", "claimed_at", "originated_at",
                "answered_at", "connected_at", "ended_at", "outcome", "abandoned"])
            await conn.execute("ANALYZE attempt")
            start = time.perf_counter()
            live, abandons = await store.ledger(conn, campaign_id=c, now=NOW, window=timedelta(days=30))
            print(f"ledger over {attempts} attempts (30 days): {live} live, {abandons} abandoned in "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms")
            start = time.perf_counter()
            report = await store.compliance_report(conn, campaign_id=c, now=NOW)
            print(f"compliance report over {attempts} attempts: {time.perf_counter() - start:.2f} s; "
                  f"outside hours (random times, so many): {report.rows[0].calls_outside_hours}")
            phones = [lead["phone"] for lead in rng.sample(leads, min(100, len(leads)))]
            start = time.perf_counter()
            await store.contact_history(conn, phones, now=NOW)
            print(f"contact_history for a batch of {len(phones)} numbers: "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms")
        await db.close()
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--registry", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pure(args.checks, rng)
    asyncio.run(with_store(args.registry, args.attempts, rng))


if __name__ == "__main__":
    main()
