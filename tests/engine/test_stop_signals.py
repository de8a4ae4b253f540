"""``dialer run`` stops within 5 s of Ctrl-C or SIGTERM with calls connected, and leaves them on the PBX: the
next start re-attaches them (nobody is cut off, nothing is closed as lost). Real processes: the engine and
``dialer sim-pbx`` over TCP, real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from rich.console import Console

from config.settings import Settings
from dialer.engine import Engine
from dialer.service import EngineStopped, serve
from dialer.tasks import Supervisor
from lists import campaigns, database, operators

pytestmark = [pytest.mark.db, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
RECOVERED = re.compile(rb"recovered the open attempts of \S+: (\d+) re-attached, (\d+) lost")


@pytest.fixture
async def store(store_schema: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    url, schema = store_schema
    db = await database.open_db(url, search_path=schema)
    try:
        yield db, f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    finally:
        await db.close()


@pytest.fixture
async def sim_pbx() -> AsyncIterator[int]:
    """``dialer sim-pbx``: every call answered after a second, conversations of a quarter of an hour."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "sim-pbx", "--port", "0", "--answer", "1", "--busy", "0", "--congestion", "0",
        "--ring", "1", "--talk", "900", "--seed", "3", cwd=ROOT, env={**os.environ, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        match = re.search(rb"listening on [\d.]+:(\d+)", line)
        assert match, line
        yield int(match.group(1))
    finally:
        proc.kill()
        await proc.wait()


async def start_engine(store_url: str, ami_port: int, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "DIALER_DATABASE_URL": store_url, "DIALER_AMI_PORT": str(ami_port),
           "DIALER_AMI_USERNAME": "dialer", "DIALER_AMI_SECRET": "change-me", "COLUMNS": "200"}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "run", "--operator-channel", "Local/{ext}@operators", cwd=ROOT, env=env,
            stdout=out, stderr=out)


async def until_connected(db: asyncpg.Pool, engine: asyncio.subprocess.Process, log: Path) -> set[int]:
    """The ids of open connected attempts, once there is at least one."""
    async with asyncio.timeout(60):
        while True:
            assert engine.returncode is None, log.read_text(errors="replace")[-3000:]
            rows = await db.fetch("SELECT id FROM attempt WHERE state = 'connected' AND ended_at IS NULL")
            if rows:
                return {r["id"] for r in rows}
            await asyncio.sleep(0.1)


async def stop_seconds(engine: asyncio.subprocess.Process, sig: signal.Signals, log: Path) -> float:
    started = time.monotonic()
    engine.send_signal(sig)
    try:
        code = await asyncio.wait_for(engine.wait(), timeout=30)
    except TimeoutError:
        engine.kill()
        await engine.wait()
        raise AssertionError(f"no stop 30 s after {sig.name}:\n{log.read_text(errors='replace')[-3000:]}") from None
    assert code == 0, log.read_text(errors="replace")[-3000:]
    return time.monotonic() - started


async def set_up_campaign(db: asyncpg.Pool) -> None:
    campaign = await campaigns.create(db, name="stop", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    ops = [await operators.create(db, name=f"op{i}", extension=str(301 + i), simulated=True) for i in range(3)]
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[o.id for o in ops])
    await db.executemany("INSERT INTO lead (campaign_id, phone, timezone) VALUES ($1, $2, 'UTC')",
                           [(campaign.id, f"+1555{i:07d}") for i in range(20)])
    await campaigns.set_state(db, "stop", "running", actor="test", now=datetime.now(UTC))


async def test_ctrl_c_and_sigterm_stop_the_engine_within_5_s_and_the_next_start_reattaches_the_calls(
        store: tuple[asyncpg.Pool, str], sim_pbx: int, tmp_path: Path) -> None:
    db, store_url = store
    await set_up_campaign(db)
    log = tmp_path / "engine.log"

    first = await start_engine(store_url, sim_pbx, log)
    try:
        await until_connected(db, first, log)
        took = await stop_seconds(first, signal.SIGINT, log)
    finally:
        if first.returncode is None:
            first.kill()
    assert took < 5.0, f"Ctrl-C took {took:.1f} s"
    left = {r["id"] for r in await db.fetch("SELECT id FROM attempt WHERE state = 'connected' AND ended_at IS NULL")}
    assert left, "the connected calls were closed instead of being left to recovery"
    lost = await db.fetchval("SELECT count(*) FROM attempt WHERE outcome = 'lost'")
    assert lost == 0
    # its last picture says it stopped: the consoles and the watch know at once that nobody runs the campaign
    assert json.loads(await db.fetchval("SELECT doc FROM engine_picture")).get("stopped") is True

    second = await start_engine(store_url, sim_pbx, log)
    try:
        async with asyncio.timeout(60):
            while not (match := RECOVERED.search(log.read_bytes())):
                assert second.returncode is None, log.read_text(errors="replace")[-3000:]
                await asyncio.sleep(0.1)
        assert int(match.group(1)) >= len(left)
        still = await db.fetch("SELECT id, outcome FROM attempt WHERE id = ANY($1::bigint[])", list(left))
        assert all(r["outcome"] is None for r in still), still   # re-attached, not closed as lost
        await until_connected(db, second, log)
        took = await stop_seconds(second, signal.SIGTERM, log)
    finally:
        if second.returncode is None:
            second.kill()
    assert took < 5.0, f"SIGTERM took {took:.1f} s"
    assert b"Traceback" not in log.read_bytes(), log.read_text(errors="replace")[-3000:]


async def test_a_task_that_cannot_run_stops_dialer_run_with_the_reason_and_leaves_the_calls(
        store: tuple[asyncpg.Pool, str], sim_pbx: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` is ``dialer run`` in this process, so a fault can be put into the heartbeat."""
    db, store_url = store
    await set_up_campaign(db)

    async def broken_heartbeat(self: Engine) -> None:
        raise RuntimeError("heartbeat cannot reach its table")

    monkeypatch.setattr(Engine, "_beat", broken_heartbeat)
    monkeypatch.setattr(Supervisor, "BACKOFF", (0.01, 0.01))
    settings = Settings(ami_port=sim_pbx, ami_username="dialer", ami_secret="change-me")
    with pytest.raises(EngineStopped, match=r"heartbeat.*heartbeat cannot reach its table") as stopped:
        async with asyncio.timeout(30):
            await serve(settings, store_url, operator_channel="Local/{ext}@operators", console=Console(quiet=True))
    assert "next start recovers them" in str(stopped.value)
