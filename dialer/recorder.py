"""Write-behind to the store, in order.

The call path (answer → hand-off) must never wait for the database, and an outage of the database must
not lose an outcome. So every write the engine makes after dialing is queued here and flushed in order,
in batches, each batch in one transaction. When the store is away the queue waits and retries with
back-off; the engine keeps handing off live calls from memory meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

from lists import attempts
from lists.attempts import AttemptUpdate

log = logging.getLogger(__name__)


class _AttemptWrite:
    def __init__(self, update: AttemptUpdate) -> None:
        self.update = update

    async def __call__(self, conn: asyncpg.Connection) -> None:
        await attempts.apply_updates(conn, [self.update])

Write = Callable[[asyncpg.Connection], Awaitable[object]]

_CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                      asyncpg.ConnectionDoesNotExistError, asyncio.TimeoutError)


class Recorder:
    def __init__(self, pool: asyncpg.Pool, *, batch: int = 500, backoff: tuple[float, float] = (0.1, 5.0),
                 linger_s: float = 0.05) -> None:
        self._pool = pool
        self._queue: deque[tuple[str, Write]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._batch = batch
        self._backoff = backoff
        self._linger_s = linger_s   # gather writes this long so one transaction carries many
        self._task: asyncio.Task[None] | None = None
        self.store_up = True
        self.written = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="recorder")

    def put(self, what: str, write: Write) -> None:
        self._queue.append((what, write))
        self._idle.clear()
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def drain(self) -> None:
        """Wait until everything queued so far is in the store."""
        if self._queue:
            self._wake.set()
            await self._idle.wait()

    async def close(self) -> None:
        await self.drain()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                if self._linger_s:
                    await asyncio.sleep(self._linger_s)
                continue
            batch = [self._queue[i] for i in range(min(self._batch, len(self._queue)))]
            try:
                await self._write(batch)
            except _CONNECTION_ERRORS as exc:
                if self.store_up:
                    log.warning("store unreachable (%s); %d writes wait", type(exc).__name__, len(self._queue))
                self.store_up = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            except asyncpg.PostgresError:
                # A write the store refuses is a bug, not an outage: write the rest one by one, log the bad one.
                await self._write_one_by_one(batch)
            if not self.store_up:
                log.warning("store back; writing the backlog")
            self.store_up = True
            delay = self._backoff[0]
            for _ in batch:
                self._queue.popleft()
            self.written += len(batch)

    def put_attempt(self, update: AttemptUpdate) -> None:
        """An attempt transition; consecutive ones are written with one statement."""
        self.put(f"attempt {update.attempt_id} {update.state}", _AttemptWrite(update))

    async def _write(self, batch: list[tuple[str, Write]]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            updates: list[AttemptUpdate] = []
            for _, write in batch:
                if isinstance(write, _AttemptWrite):
                    updates.append(write.update)
                    continue
                if updates:
                    await attempts.apply_updates(conn, updates)
                    updates = []
                await write(conn)
            if updates:
                await attempts.apply_updates(conn, updates)

    async def _write_one_by_one(self, batch: list[tuple[str, Write]]) -> None:
        for what, write in batch:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await write(conn)
            except asyncpg.PostgresError:
                log.exception("the store refused %s; it is skipped", what)
