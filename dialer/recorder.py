"""Write-behind to the store, in order.

The call path (answer → hand-off) must never wait for the database, and an outage of the database must
not lose an outcome. So every write the engine makes after dialing is queued here and flushed in order,
in batches, each batch in one transaction. When the store is away the queue waits and retries with
back-off; the engine keeps handing off live calls from memory meanwhile.

A write that fails for any other reason (a disposition the campaign no longer knows, a row a constraint
refuses) would fail again at every retry and hold up everything behind it. So the batch is written
again one write at a time, each in its own transaction, and the one that fails is set aside in the
``dead_letter`` table (``dialer db dead-letters``) with an ERROR in the log; the rest carries on.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import asyncpg

from dialer.store import dead_letters
from dialer.tasks import BackgroundTasks
from lists import attempts
from lists.attempts import AttemptUpdate

log = logging.getLogger(__name__)


class _AttemptWrite:
    def __init__(self, update: AttemptUpdate) -> None:
        self.update = update

    async def __call__(self, conn: asyncpg.Connection) -> None:
        await attempts.apply_updates(conn, [self.update])

Write = Callable[[asyncpg.Connection], Awaitable[object]]

# The store is away (or going): wait and write the same again. Anything else is the write's own fault.
STORE_UNREACHABLE = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                      asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.TooManyConnectionsError,
                      asyncio.TimeoutError)


class Recorder:
    def __init__(self, db: asyncpg.Pool, *, batch: int = 500, backoff: tuple[float, float] = (0.1, 5.0),
                 linger_s: float = 0.05, tasks: BackgroundTasks | None = None, engine: str = "engine") -> None:
        self._db = db
        self._queue: deque[tuple[str, Write]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._batch = batch
        self._backoff = backoff
        self._linger_s = linger_s   # gather writes this long so one transaction carries many
        self._tasks = tasks or BackgroundTasks()
        self._engine = engine
        self._task: asyncio.Task[None] | None = None
        self.store_up = True
        self.written = 0
        self.dead_letters = 0

    def start(self) -> None:
        self._task = self._tasks.keep(self._run, "recorder")

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

    async def close(self, timeout_s: float | None = None) -> None:
        """Flush (for at most ``timeout_s``) and stop. What is left unwritten is logged: the attempts it
        concerned stay open in the store, and the next start's recovery resolves them."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.drain()
        except TimeoutError:
            log.warning("recorder: %d write(s) not flushed within %.1f s, dropped; the attempts they concern stay open "
                        "and the next start's recovery resolves them", len(self._queue), timeout_s)
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
                try:
                    await self._write(batch)
                    for _ in batch:
                        self._queue.popleft()
                    self.written += len(batch)
                except STORE_UNREACHABLE:
                    raise
                except Exception as exc:
                    log.warning("recorder: a batch of %d write(s) failed (%s: %s); writing them one by one",
                                len(batch), type(exc).__name__, exc)
                    await self._write_one_by_one(len(batch))
            except STORE_UNREACHABLE as exc:
                if self.store_up:
                    log.warning("store unreachable (%s); %d writes wait", type(exc).__name__, len(self._queue))
                self.store_up = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff[1])
                continue
            if not self.store_up:
                log.warning("store back; writing the backlog")
            self.store_up = True
            delay = self._backoff[0]

    def put_attempt(self, update: AttemptUpdate) -> None:
        """An attempt transition; consecutive ones are written with one statement."""
        self.put(f"attempt {update.attempt_id} {update.state}", _AttemptWrite(update))

    async def _write(self, batch: list[tuple[str, Write]]) -> None:
        async with self._db.acquire() as conn, conn.transaction():
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

    async def _write_one_by_one(self, count: int) -> None:
        """The first ``count`` queued writes, each in its own transaction, taken off the queue as each is
        written or set aside; a connection error leaves the rest queued for the outer retry."""
        async with self._db.acquire() as conn:
            for _ in range(count):
                what, write = self._queue[0]
                try:
                    async with conn.transaction():
                        await write(conn)
                    self.written += 1
                except STORE_UNREACHABLE:
                    raise
                except Exception as exc:
                    await self._set_aside(conn, what, write, exc)
                self._queue.popleft()

    async def _set_aside(self, conn: asyncpg.Connection, what: str, write: Write, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        log.error("recorder: could not record %s: %s; kept in the dead letters (dialer db dead-letters)", what, error)
        self.dead_letters += 1
        try:
            async with conn.transaction():
                await dead_letters.set_aside(conn, engine=self._engine, what=what, error=error,
                                             payload=json.dumps(payload_of(write), default=str))
        except STORE_UNREACHABLE:
            raise
        except Exception:
            log.exception("recorder: the dead letter for %s could not be stored either", what)


def payload_of(write: Write) -> dict[str, Any]:
    """The arguments of a write, as far as they can be read back: a person fixing it by hand needs them."""
    if isinstance(write, _AttemptWrite):
        return {"write": "attempt update", **{k: v for k, v in asdict(write.update).items() if v is not None}}
    if isinstance(write, functools.partial):
        return {"write": getattr(write.func, "__qualname__", repr(write.func)), **write.keywords}
    code = getattr(write, "__code__", None)
    closure = getattr(write, "__closure__", None) or ()
    found: dict[str, Any] = {"write": getattr(write, "__qualname__", repr(write))}
    if code is not None:
        for name, cell in zip(code.co_freevars, closure, strict=False):
            value = cell.cell_contents
            if isinstance(value, str | int | float | bool) or value is None or hasattr(value, "isoformat"):
                found[name] = value
    return found
