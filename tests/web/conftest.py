"""``dialer serve`` as a person meets it: a real engine (in-memory PBX, real store, its control plane) in
the test, and ``dialer serve`` in its own process on the test's schema, reached over HTTP and websockets."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from ami.pbx import CallAnswered, ConferenceJoined
from dialer.clock import SystemClock
from dialer.config import EngineConfig
from dialer.control import ControlPlane
from dialer.engine import Engine
from lists import campaigns, operators
from people import store
from tests.engine.fake_pbx import FakePbx
from tests.web.terminal import until_listening

CONFIG = EngineConfig(tick_s=0.02, operator_channel_template="Local/{ext}@operators")
PASSWORD = "anna's long password"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    url: str
    db: asyncpg.Pool
    pbx: FakePbx
    log: Path
    server: subprocess.Popen[bytes]

    async def connect_the_call(self) -> None:
        """The customer answers and is put through to Anna's conference."""
        async with asyncio.timeout(10):
            while not self.pbx.customer_calls():
                await asyncio.sleep(0.02)
        call = self.pbx.customer_calls()[0]
        self.pbx.emit(CallAnswered(call.channel_id))
        async with asyncio.timeout(10):
            while not self.pbx.redirects:
                await asyncio.sleep(0.01)
        self.pbx.emit(ConferenceJoined(f"op{self.pbx.redirects[0][2]}", call.channel_id))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def served(db: asyncpg.Pool, store_schema: tuple[str, str], tmp_path: Path) -> AsyncIterator[Served]:
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    anna = await operators.create(db, name="Anna", extension="101")
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[anna.id])
    await db.execute(
        """INSERT INTO lead (campaign_id, phone, timezone, fields)
           VALUES ($1, '+15550001234', 'UTC', '{"first_name": "Grace"}')""", campaign.id)
    await store.add(db, name="anna", role="operator", password=PASSWORD, operator="Anna",
                    now=datetime.now(UTC))
    await campaigns.set_state(db, "c1", "running", actor="test", now=SystemClock().now())
    pbx = FakePbx()
    engine = Engine(db, pbx, SystemClock(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, picture_s=0.2, poll_s=0.2)
    await control.start()

    url, schema = store_schema
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}"}
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            await until_listening(base, server, timeout=20)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {log.read_text()}") from None
        yield Served(base, db, pbx, log, server)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        await control.close()
        await engine.stop(drain_s=0)
