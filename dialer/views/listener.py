"""One LISTEN connection for every view of a process (``dialer serve`` runs hundreds of consoles in a few
processes): a view that held its own would cost the store a connection, a backend process, per person at
work, and PostgreSQL's default of 100 connections would end at a few dozen people.

asyncpg keeps the callbacks of each channel on the connection and sends ``LISTEN`` for the first and
``UNLISTEN`` after the last, so many views may follow the same channel. The lock keeps those statements
one at a time: a connection runs one statement at once, and views start and stop whenever people log in
and out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

Callback = Callable[[Any, int, str, str], None]


class SharedListener:
    def __init__(self, db: asyncpg.Pool) -> None:
        self._db = db
        self._conn: Any = None        # a pool's connection, held from ``open`` to ``close``
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self._conn = await self._db.acquire()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._db.release(conn)

    async def add(self, channel: str, callback: Callback) -> None:
        async with self._lock:
            await self._connection().add_listener(channel, callback)

    async def remove(self, channel: str, callback: Callback) -> None:
        if self._conn is None:
            return    # closed: the pool's release has stopped every listener
        async with self._lock:
            await self._connection().remove_listener(channel, callback)

    def _connection(self) -> Any:
        if self._conn is None:
            raise RuntimeError("the shared listener is not open")
        return self._conn
