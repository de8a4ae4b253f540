"""One campaign through a real Asterisk, end to end: a fresh Asterisk with the project's configuration, a
store schema of its own, ``dialer run`` as a child process, simulated operators whose phones are
``Local/{ext}@operators`` and customers on the simulated PSTN. Used by the campaign test and by
``benchmarks/asterisk_campaign.py``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from lists import campaigns, database, operators
from tests.asterisk.engine_run import DialerRun
from tests.asterisk.observer import Observer
from tests.asterisk.pbx import Asterisk

# ---- a campaign over the simulated PSTN ---------------------------------------------------------------

# The first digit is what happens (tests/asterisk/pbx.py PSTN): 1 answer (the next two digits: seconds
# of talk), 2 busy, 3 no answer, 4 congestion, 6 answer after talk_s seconds of ringing and press 9 when
# asked, 7 answer after talk_s seconds of ringing and listen.
def numbers(kind: str, count: int, talk_s: int = 6) -> list[str]:
    prefix = {"answer": f"1{talk_s:02d}", "busy": "200", "no_answer": "300", "congestion": "400",
              "opts_out": f"6{talk_s:02d}", "listens": f"7{talk_s:02d}"}[kind]
    return [f"+{prefix}5550{i:04d}" for i in range(count)]


async def set_up_campaign(db: asyncpg.Pool, phones: list[str], *, operators_count: int = 3,
                          name: str = "real-asterisk", mode: str = "progressive",
                          pacing: dict[str, Any] | None = None) -> int:
    campaign = await campaigns.create(db, name=name, channel_template="Local/{digits}@pstn-test",
                                      caller_id="+15550000000", mode=mode, pacing=pacing, ring_timeout_s=15)
    ops = [await operators.create(db, name=f"op{i}", extension=str(101 + i), simulated=True)
           for i in range(operators_count)]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
    await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                           [(campaign.id, phone) for phone in phones])
    await campaigns.set_state(db, name, "running", actor="test", now=datetime.now(UTC))
    return campaign.id


async def campaign_over(db: asyncpg.Pool) -> bool:
    """Nothing claimed, nothing open, nothing due now: every lead has had its call."""
    row = await db.fetchrow(
        """SELECT count(*) FILTER (WHERE state = 'claimed') AS claimed,
                  count(*) FILTER (WHERE state = 'ready' AND (next_due_at IS NULL OR next_due_at <= now())) AS due,
                  (SELECT count(*) FROM attempt WHERE ended_at IS NULL) AS open
           FROM lead""")
    return row["claimed"] == 0 and row["due"] == 0 and row["open"] == 0


@dataclass
class CampaignRun:
    attempts: list[dict[str, Any]]
    leads: list[dict[str, Any]]
    stop_s: float | None              # how long ``dialer run`` took to exit on SIGTERM (None: had to be killed)
    finished: bool                    # every lead had its call before the time ran out
    engine_log: str
    engine_errors: list[str]
    asterisk_warnings: list[str]
    ghosts: list[str]
    figures: Any = None               # what ``read`` returned, from the store before its schema is dropped

    def by_phone(self) -> dict[str, dict[str, Any]]:
        return {a["phone"]: a for a in self.attempts}


async def run_campaign(binary: str, store_url: str, phones: list[str], log_dir: Path, *, operators: int = 3,
                       duration_s: float = 150.0, until_over: bool = True,
                       read: Callable[[asyncpg.Pool], Awaitable[Any]] | None = None, mode: str = "progressive",
                       pacing: dict[str, Any] | None = None) -> CampaignRun:
    """Run the campaign until every lead has had its call (``until_over``) or ``duration_s`` passed, then
    stop ``dialer run`` as Ctrl-C would and read what the store and both logs say."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(store_url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    pbx = Asterisk(binary)
    observer = Observer(pbx.port)
    db = await database.open_db(store_url, search_path=schema)
    dialer = DialerRun(log_dir, store_url, schema, pbx.port)
    try:
        pbx.start()
        observer.start()
        await asyncio.wait_for(observer.connected.wait(), 10)
        ghosts = observer.watch_for_ghosts()
        await set_up_campaign(db, phones, operators_count=operators, mode=mode, pacing=pacing)
        await dialer.start()
        deadline = time.monotonic() + duration_s
        finished = False
        while time.monotonic() < deadline and dialer.running:
            if until_over and await campaign_over(db):
                finished = True
                break
            await asyncio.sleep(0.5)
        stop_s = await dialer.stop()
        finished = finished or await campaign_over(db)
        attempts = [dict(r) for r in await db.fetch("SELECT * FROM attempt ORDER BY id")]
        leads = [dict(r) for r in await db.fetch("SELECT * FROM lead ORDER BY id")]
        figures = await read(db) if read is not None else None
        return CampaignRun(attempts, leads, stop_s, finished, dialer.log(), dialer.errors(), pbx.warnings(),
                           list(ghosts), figures)
    finally:
        if dialer.running:
            dialer.kill()
        await observer.close()
        pbx.stop()
        for name in ("messages.log", "full.log"):
            if (pbx.base / "log" / name).exists():
                (log_dir / f"asterisk-{name}").write_bytes((pbx.base / "log" / name).read_bytes())
        pbx.close()
        await db.close()
        conn = await asyncpg.connect(store_url)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
