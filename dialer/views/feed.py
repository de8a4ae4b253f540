"""The views' side of the bus (docs/ARCHITECTURE.md, "Control plane"): snapshots in, commands out.

The feed holds one connection that LISTENs on ``dialer_snapshot``; each notification names an engine,
whose single row is then read by primary key. Notifications that arrive while a read is under way are
folded into one more read, so a burst costs one query, and nothing polls.

An operator's console follows one operator: its feed reads only that operator's entry of each snapshot
(the store picks it out of the doc, so a floor of thousands is not shipped and parsed every second by
every console) and also LISTENs on the operator's own channel, whose payload is the entry as it changed
(``dialer/bus.py``): a call handed over reaches the console at once, not with the next snapshot. A
change is newer than a snapshot written before it, and older than the next one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dialer.bus import COMMAND_CHANNEL, SNAPSHOT_CHANNEL, operator_channel
from dialer.tasks import BackgroundTasks
from dialer.views.snapshot import Floor, SnapshotError, parse_floor

log = logging.getLogger(__name__)

COMMANDS = ("login", "ready", "pause", "logout", "disposition", "dial", "spy", "end_call")
SPY_MODES = ("listen", "whisper", "barge")


class CommandError(ValueError):
    """A command the engine would refuse anyway; the message says which part is wrong."""


def _doc(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


# The whole doc, or the doc with only one operator's entry (an operator's console).
_WHOLE = "SELECT engine, doc FROM engine_snapshot WHERE $1::text[] IS NULL OR engine = ANY($1::text[])"
_ONE_OPERATOR = """SELECT engine, doc || jsonb_build_object('operators', jsonb_path_query_array(
                          doc -> 'operators', '$[*] ? (@.id == $me)', jsonb_build_object('me', $2::bigint))) AS doc
                   FROM engine_snapshot WHERE $1::text[] IS NULL OR engine = ANY($1::text[])"""


class SnapshotFeed:
    """Keeps the latest snapshot of every engine and hands the merged ``Floor`` to ``on_floor``.
    ``operator_id``: follow that operator only (a console), the whole floor otherwise."""

    def __init__(self, pool: asyncpg.Pool, on_floor: Callable[[Floor], None],
                 on_error: Callable[[str], None] | None = None, *, operator_id: int | None = None) -> None:
        self._pool = pool
        self._on_floor = on_floor
        self._on_error = on_error or (lambda message: log.warning("%s", message))
        self._operator_id = operator_id
        self._docs: dict[str, dict[str, Any]] = {}
        self._changes: dict[str, tuple[datetime, dict[str, Any]]] = {}   # engine → the operator's entry, newer
        self._schema = ""
        self._listener: asyncpg.pool.PoolConnectionProxy | None = None
        self._dirty: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self._tasks = BackgroundTasks()   # a reader that fails is logged; the next notification reads again
        self.reads = 0                    # queries of engine_snapshot so far (benchmarks, tests)

    async def start(self) -> None:
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(SNAPSHOT_CHANNEL, self._notified)
        if self._operator_id is not None:
            self._schema = str(await self._listener.fetchval("SELECT current_schema()"))
            await self._listener.add_listener(operator_channel(self._operator_id), self._operator_notified)
        rows = await self._fetch(None)
        self.reads += 1
        self._docs = {r["engine"]: _doc(r["doc"]) for r in rows}
        self._publish()

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._listener is not None:
            try:
                await self._listener.remove_listener(SNAPSHOT_CHANNEL, self._notified)
                if self._operator_id is not None:
                    await self._listener.remove_listener(operator_channel(self._operator_id),
                                                         self._operator_notified)
            finally:
                await self._pool.release(self._listener)
                self._listener = None

    async def _fetch(self, engines: list[str] | None) -> list[asyncpg.Record]:
        if self._operator_id is None:
            return await self._pool.fetch(_WHOLE, engines)
        return await self._pool.fetch(_ONE_OPERATOR, engines, self._operator_id)

    def _operator_notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            news = json.loads(payload)
            if news.get("schema") != self._schema:
                return   # the same operator id in another store of this database
            engine, at, entry = str(news["engine"]), datetime.fromisoformat(news["at"]), dict(news["operator"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._on_error(f"cannot read the engine's news of the operator: {type(exc).__name__} {exc}")
            return
        self._changes[engine] = (at, entry)
        self._publish()

    def _notified(self, _conn: object, _pid: int, _channel: str, engine: str) -> None:
        self._dirty.add(engine)
        if self._reader is None or self._reader.done():
            self._reader = self._tasks.spawn(self._read_dirty(), name="snapshot-reader")

    async def _read_dirty(self) -> None:
        while self._dirty:
            engines = sorted(self._dirty)
            self._dirty.clear()
            try:
                rows = await self._fetch(engines)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._dirty.update(engines)     # read again on the next notification
                self._on_error(f"cannot read the engine's snapshot: store unreachable ({type(exc).__name__})")
                return
            self.reads += 1
            before = dict(self._docs)
            for row in rows:
                self._docs[row["engine"]] = _doc(row["doc"])
            for gone in set(engines) - {r["engine"] for r in rows}:
                self._docs.pop(gone, None)   # another schema's engine (tests) or a deleted row
            # LISTEN comes before the first read, so a snapshot may be read twice (once by start, once on
            # its NOTIFY): a view that counts snapshots (the plots) must see each one once
            if self._docs != before:
                self._publish()

    def _publish(self) -> None:
        try:
            floor = parse_floor(self._with_changes())
        except (SnapshotError, ValueError, TypeError) as exc:
            self._on_error(f"cannot read the engine's snapshot: {exc}")
            return
        self._on_floor(floor)

    def _with_changes(self) -> list[dict[str, Any]]:
        """The docs, each with the operator's entry as it changed since the doc was written."""
        docs = dict(self._docs)
        for engine, (at, entry) in list(self._changes.items()):
            doc = docs.get(engine)
            written = doc.get("at") if doc is not None else None
            if written and datetime.fromisoformat(str(written)) >= at:
                del self._changes[engine]      # the snapshot has caught up with the change
                continue
            if doc is None:                    # an engine that has not written its first snapshot yet
                docs[engine] = {"engine": engine, "at": at.isoformat(), "operators": [entry]}
                continue
            others = [o for o in doc.get("operators") or () if o.get("id") != entry.get("id")]
            docs[engine] = {**doc, "at": at.isoformat(), "operators": [*others, entry]}   # the newer moment
        return list(docs.values())


@dataclass(frozen=True)
class CommandResult:
    id: int
    command: str
    done: bool
    refused: str | None


def check_command(command: str, args: Mapping[str, Any]) -> None:
    if command not in COMMANDS:
        raise CommandError(f"unknown command {command!r}; known: {', '.join(COMMANDS)}")
    if command == "disposition" and ("attempt_id" not in args or not args.get("code")):
        raise CommandError("a disposition needs the attempt_id and a code")
    if command == "dial" and not str(args.get("phone", "")).strip():
        raise CommandError("dial needs a phone number")
    if command == "spy":
        if args.get("mode") not in SPY_MODES:
            raise CommandError(f"spy mode must be one of {', '.join(SPY_MODES)}")
        if not str(args.get("supervisor_extension", "")).isdigit():
            raise CommandError("spy needs the supervisor's extension (digits), e.g. --extension 200")


async def send_command(pool: asyncpg.Pool | asyncpg.Connection, *, operator_id: int, command: str,
                       args: Mapping[str, Any], actor: str, now: datetime, person_id: int | None = None) -> int:
    """Write one command row and wake the engines; returns the row id (to look up its result).
    ``person_id``: who is logged in (``dialer serve``); the engine checks their rights before applying it."""
    check_command(command, args)
    async with _connection(pool) as conn, conn.transaction():
        command_id = await conn.fetchval(
            """INSERT INTO operator_command (operator_id, command, args, actor, created_at, person_id)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING id""",
            operator_id, command, json.dumps(dict(args)), actor, now, person_id,
        )
        await conn.execute("SELECT pg_notify($1, $2)", COMMAND_CHANNEL, str(command_id))
    return int(command_id)


async def command_results(pool: asyncpg.Pool | asyncpg.Connection, ids: Iterable[int]) -> list[CommandResult]:
    rows = await pool.fetch(
        "SELECT id, command, done_at, result FROM operator_command WHERE id = ANY($1::bigint[]) ORDER BY id",
        list(ids),
    )
    return [CommandResult(r["id"], r["command"], r["done_at"] is not None, r["result"]) for r in rows]


class _connection:
    """``async with`` one connection whether given a pool or a connection."""

    def __init__(self, source: asyncpg.Pool | asyncpg.Connection) -> None:
        self._source = source
        self._conn: Any = None

    async def __aenter__(self) -> Any:
        if isinstance(self._source, asyncpg.Pool):
            self._conn = await self._source.acquire()
            return self._conn
        return self._source

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._source.release(self._conn)  # type: ignore[union-attr]
