"""A connection of the engine's ``db`` kept by one writer that must not queue behind the others.

The store's connections (``db``) are shared by the recorder's batches, the claims, the recovery and the
control plane; when they hold every connection, an ``acquire`` waits behind all of them. A writer that must
stay on time (the views' picture, written every second) takes one connection once and keeps it; it takes
another only if that one is lost (the server restarted).

Stopping stays bounded (``dialer/service.py`` gives the whole stop a few seconds). A write cancelled while
its query is in flight leaves the connection busy: asyncpg is still cancelling it, so giving it back waits
for the server, and any other statement on it fails with "another operation is in progress" (publishing
on the control plane's LISTEN connection broke the stop that way: its UNLISTEN raised). So a connection
whose work was cancelled is terminated at once, and ``db`` opens a fresh one when it next needs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

GIVE_BACK_S = 1.0     # giving a healthy connection back (its reset) on stop


class KeptConnection:
    def __init__(self, db: asyncpg.Pool) -> None:
        self._db = db
        self._conn: Any = None       # asyncpg's PoolConnectionProxy

    async def open(self) -> None:
        """Take the connection now, while the pool has room (at start)."""
        if self._conn is None:
            self._conn = await self._db.acquire()

    @asynccontextmanager
    async def use(self) -> AsyncIterator[asyncpg.Connection]:
        """The kept connection, taken again if it was lost, for one piece of work."""
        await self.open()
        conn = self._conn
        try:
            yield conn
        except asyncio.CancelledError:
            self._conn = None
            if not _gone(conn):
                conn.terminate()   # cancelled mid-query (see the module's docstring); the pool forgets it
            raise
        except BaseException:
            if _gone(conn):
                await self.close()     # lost: the next use takes another
            raise

    async def close(self) -> None:
        """Give the connection back to the pool: at once if it was terminated or lost, else within
        ``GIVE_BACK_S`` (then terminated)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await self._db.release(conn, timeout=GIVE_BACK_S)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass      # the pool terminated it, and opens another when it needs one


def _gone(conn: Any) -> bool:
    """Closed, or already back in the pool (asyncpg detaches a connection that was terminated or lost)."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True
