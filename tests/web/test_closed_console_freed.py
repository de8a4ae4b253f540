"""A console that closed is freed with its page, in a worker that goes on serving others: nothing the
worker keeps (its pool, its LISTEN connection, the loop's timers) holds on to the app. A worker serves
hundreds of sessions a day; a console kept for minutes after its page closed is memory that grows with
every login of a shift."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import asyncpg
import pytest

from dialer.clock import SystemClock
from dialer.views.listener import SharedListener
from dialer.views.operator_console import OperatorConsole, find_operator
from dialer.web.browser import Browser
from dialer.web.driver import driver_for
from dialer.web.server import POOL_SIZE, open_worker_db
from lists import campaigns, operators

pytestmark = pytest.mark.db


class Page:
    """The page's websocket: it takes whatever is drawn."""

    async def send_bytes(self, data: bytes) -> None:
        pass

    async def send_json(self, data: Any) -> None:
        pass

    async def close(self) -> None:
        pass


async def _console_closed(db: asyncpg.Pool, listener: SharedListener) -> weakref.ref[OperatorConsole]:
    browser = Browser(Page(), 160, 48)      # type: ignore[arg-type]
    app = OperatorConsole(db, await find_operator(db, "Anna"), SystemClock(), listener=listener)
    app.driver_class = driver_for(browser)
    session = asyncio.ensure_future(app.run_async())
    async with asyncio.timeout(20):
        while not app._showing():         # the console is up: it has read its pictures from the store
            await asyncio.sleep(0.02)
    browser.close()                       # the page closed
    await session
    return weakref.ref(app)


async def test_a_closed_console_is_freed_while_the_worker_serves_on(db: asyncpg.Pool,
                                                                   store_schema: tuple[str, str]) -> None:
    campaign = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn",
                                      caller_id="+15550000000", mode="progressive")
    anna = await operators.create(db, name="Anna", extension="101")
    await operators.assign(db, campaign_id=campaign.id, operator_ids=[anna.id])
    url, schema = store_schema
    worker_db = await open_worker_db(url, search_path=schema)
    listener = SharedListener(worker_db)
    await listener.open()
    try:
        closed = [await _console_closed(worker_db, listener) for _ in range(2)]
        await worker_db.fetchval("SELECT 1")      # the worker goes on using its pool
        for _ in range(20):
            await asyncio.sleep(0)                # the apps' last callbacks run
        gc.collect()
        assert [console() is None for console in closed] == [True, True]
    finally:
        await listener.close()
        await worker_db.close()


async def test_the_workers_store_connections_are_all_opened_before_any_session(
        db: asyncpg.Pool, store_schema: tuple[str, str]) -> None:
    """A connection opened during a session registers its socket with the loop in that session's context,
    which holds the session's apps for as long as the connection lives (all day, in a pool)."""
    url, schema = store_schema
    worker_db = await open_worker_db(url, search_path=schema)
    try:
        assert worker_db.get_size() == POOL_SIZE
    finally:
        await worker_db.close()
