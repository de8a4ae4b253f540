"""The views' picture is written on a connection the publisher keeps: a pool whose every other connection is
busy (the recorder's batches, the claims) does not make it late, and stopping stays bounded even when a write
is stuck in flight (cancelled mid-query, a pool connection would otherwise hold up the stop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
import pytest

from dialer.control import ControlPlane
from dialer.engine import Engine
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday

pytestmark = pytest.mark.db


@asynccontextmanager
async def publishing(db: asyncpg.Pool) -> AsyncIterator[ControlPlane]:
    await make_campaign(db, operators_n=1, leads_n=0)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    plane = ControlPlane(engine, picture_s=0.02)
    await plane.start()
    try:
        async with asyncio.timeout(5):
            while await db.fetchval("SELECT at FROM engine_picture") is None:
                await asyncio.sleep(0.02)
        yield plane
    finally:
        await plane.close()
        await engine.stop(drain_s=0)


async def all_free_connections(db: asyncpg.Pool) -> list[asyncpg.Connection]:
    """Every connection the pool will still give: the rest of the engine now waits for one."""
    taken: list[asyncpg.Connection] = []
    while len(taken) < db.get_max_size():
        try:
            async with asyncio.timeout(0.5):
                taken.append(await db.acquire())
        except TimeoutError:
            break
    return taken


async def test_the_picture_is_written_while_every_other_connection_of_the_pool_is_busy(db: asyncpg.Pool) -> None:
    async with publishing(db):
        taken = await all_free_connections(db)
        try:
            reader = taken[0]
            seen: set[datetime] = set()
            async with asyncio.timeout(5):
                while len(seen) < 3:
                    seen.add(await reader.fetchval("SELECT at FROM engine_picture"))
                    await asyncio.sleep(0.02)
        finally:
            for conn in taken:
                await db.release(conn)


async def test_stopping_while_a_picture_write_is_stuck_is_bounded_and_gives_every_connection_back(
        db: asyncpg.Pool) -> None:
    locker = await db.acquire()
    try:
        async with publishing(db) as plane:
            async with locker.transaction():
                await locker.execute("SELECT 1 FROM engine_picture FOR UPDATE")    # the next write waits
                async with asyncio.timeout(5):
                    while not await db.fetchval(     # not in the locker's transaction: its view is a snapshot
                            """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                               AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO engine_picture%'"""):
                        await asyncio.sleep(0.02)
                async with asyncio.timeout(2):
                    await plane.close()
    finally:
        await db.release(locker)
    async with asyncio.timeout(3):
        await db.close()     # waits for every connection to come back: none is left with the publisher
