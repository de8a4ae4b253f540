"""The views' side of the bus (docs/ARCHITECTURE.md, "Control plane"): the engines' pictures in, commands out.

The feed holds one connection that LISTENs on ``dialer_picture``; each notification names an engine,
whose single row is then read by primary key. Notifications that arrive while a read is under way are
folded into one more read, so a burst costs one query, and nothing polls.

An operator's console follows one operator: its feed reads only that operator's entry of each picture
(the store picks it out of the doc, so a floor of thousands is not shipped and parsed every second by
every console) and also LISTENs on the operator's own channel, whose payload is the entry as it changed
(``dialer/bus.py``): a call handed over reaches the console at once, not with the next picture. A
change is newer than a picture written before it, and older than the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import asyncpg

from dialer.bus import PICTURE_CHANNEL, listening, operator_channel
from dialer.recorder import STORE_UNREACHABLE
from dialer.store import operator_commands, pictures
from dialer.store.operator_commands import CommandResult
from dialer.tasks import BackgroundTasks
from dialer.views.listener import SharedListener
from dialer.views.picture import FloorPicture, PictureError, parse_picture

log = logging.getLogger(__name__)

COMMANDS = ("login", "ready", "pause", "logout", "disposition", "dial", "spy", "end_call")
SPY_MODES = ("listen", "whisper", "barge")


class CommandError(ValueError):
    """A command the engine would refuse anyway; the message says which part is wrong."""


class PictureFeed:
    """Keeps the latest picture of every engine and hands the merged ``FloorPicture`` to ``on_floor``.
    ``operator_id``: follow that operator only (a console), the whole floor otherwise. ``listener``: the
    process's shared LISTEN connection (``dialer serve``); without it the feed holds one of its own.
    ``picture_every_s``: read the pictures at most this often (a console: its operator's own news comes at
    once on its channel, and a server holds hundreds of consoles, each of which would read every second)."""

    def __init__(self, db: asyncpg.Pool, on_floor: Callable[[FloorPicture], None],
                 on_error: Callable[[str], None] | None = None, *, operator_id: int | None = None,
                 listener: SharedListener | None = None, picture_every_s: float = 0.0) -> None:
        self._db = db
        self.every_s = picture_every_s    # a view may lift it while it waits on the pictures (a command's result)
        self._read_at = float("-inf")     # loop time of the last read of the pictures (on this view's beat)
        self._beat_s = beat_offset(operator_id if operator_id is not None else id(self)) * picture_every_s
        self._shared = listener
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
        self.reads = 0                    # queries of engine_picture so far (benchmarks, tests)
        self._stopping = False
        self._relistening = False         # a new LISTEN connection is being made (after one was lost)

    async def start(self) -> None:
        if self._operator_id is not None:
            self._schema = await pictures.current_schema(self._db)
        await self._subscribe()
        self._docs = await pictures.of_engines(self._db, None, self._operator_id)
        self.reads += 1
        # the next read on this view's beat: views started while no engine wrote (an engine restarting)
        # would otherwise all read on its first notification
        self._read_at = on_beat(asyncio.get_running_loop().time(), self.every_s, self._beat_s)
        self._publish()

    async def _subscribe(self) -> None:
        if self._shared is None:
            self._listener = await self._db.acquire()
            self._listener.add_termination_listener(self._lost)
        await self._add(PICTURE_CHANNEL, self._notified)
        if self._operator_id is not None:
            await self._add(operator_channel(self._operator_id), self._operator_notified)

    def listening_pid(self) -> int | None:
        """The store's process that LISTENs for this feed (its own connection), None while there is none."""
        return self._listener.get_server_pid() if listening(self._listener) else None

    def _lost(self, _conn: object) -> None:
        """The LISTEN connection ended (the store restarted, a network cut): no notification would come again,
        and the view would show the picture of before the outage for good."""
        if not self._stopping and not self._relistening:     # asyncpg may tell it more than once
            self._relistening = True
            self._tasks.spawn(self._listen_again(), name="picture-listen-again")

    async def _listen_again(self) -> None:
        try:
            while not self._stopping:
                await self._listen_again_now()
                if listening(self._listener):   # a loss told while this ran was not acted on: looked at here
                    return
        finally:
            self._relistening = False

    async def _listen_again_now(self) -> None:
        lost, self._listener = self._listener, None
        if lost is not None:
            with contextlib.suppress(Exception):    # a dead connection: the pool only forgets it
                await self._db.release(lost)
        self._on_error("lost the store's connection: the picture shown is the last one read; listening again "
                       "as soon as the store answers")
        delay = 0.5
        while not self._stopping:
            try:
                await self._subscribe()
                found = await pictures.of_engines(self._db, None, self._operator_id)
            except Exception:   # any failure (asyncpg's InternalClientError on a connection dying
                # under it too): tried again, never given up, or the view would show the old picture for good
                if self._listener is not None:
                    conn, self._listener = self._listener, None
                    with contextlib.suppress(Exception):
                        await self._db.release(conn)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 5.0)
                continue
            self.reads += 1
            self._docs = found       # what the engines wrote meanwhile; then their notifications again
            self._on_error("the store answers again: the picture is live")
            self._publish()
            return

    async def _add(self, channel: str, callback: Callable[[object, int, str, str], None]) -> None:
        if self._shared is not None:
            await self._shared.add(channel, callback)
        else:
            assert self._listener is not None
            await self._listener.add_listener(channel, callback)

    async def stop(self) -> None:
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
        if self._shared is not None:
            await self._shared.remove(PICTURE_CHANNEL, self._notified)
            if self._operator_id is not None:
                await self._shared.remove(operator_channel(self._operator_id), self._operator_notified)
        if self._listener is not None and not listening(self._listener):
            with contextlib.suppress(asyncpg.InterfaceError):    # lost: the pool took it back
                await self._db.release(self._listener)
            self._listener = None
        if self._listener is not None:
            try:
                self._listener.remove_termination_listener(self._lost)
                await self._listener.remove_listener(PICTURE_CHANNEL, self._notified)
                if self._operator_id is not None:
                    await self._listener.remove_listener(operator_channel(self._operator_id),
                                                         self._operator_notified)
            finally:
                await self._db.release(self._listener)
                self._listener = None

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
            self._reader = self._tasks.spawn(self._read_dirty(), name="picture-reader")

    async def _read_dirty(self) -> None:
        loop = asyncio.get_running_loop()
        if (wait := self._read_at + self.every_s - loop.time()) > 0:
            await asyncio.sleep(wait)       # the notifications meanwhile are folded into this read
        self._read_at = on_beat(loop.time(), self.every_s, self._beat_s)
        while self._dirty:
            engines = sorted(self._dirty)
            self._dirty.clear()
            try:
                found = await pictures.of_engines(self._db, engines, self._operator_id)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._dirty.update(engines)     # read again on the next notification
                self._on_error(f"cannot read the engine's picture: store unreachable ({type(exc).__name__})")
                return
            self.reads += 1
            before = dict(self._docs)
            self._docs.update(found)
            for gone in set(engines) - set(found):
                self._docs.pop(gone, None)   # another schema's engine (tests) or a deleted row
            # LISTEN comes before the first read, so a picture may be read twice (once by start, once on
            # its NOTIFY): a view that counts pictures (the plots) must see each one once
            if self._docs != before:
                self._publish()

    def _publish(self) -> None:
        try:
            floor = parse_picture(self._with_changes())
        except (PictureError, ValueError, TypeError) as exc:
            self._on_error(f"cannot read the engine's picture: {exc}")
            return
        self._on_floor(floor)

    def _with_changes(self) -> list[dict[str, Any]]:
        """The docs, each with the operator's entry as it changed since the doc was written."""
        docs = dict(self._docs)
        for engine, (at, entry) in list(self._changes.items()):
            doc = docs.get(engine)
            written = doc.get("at") if doc is not None else None
            if written and datetime.fromisoformat(str(written)) >= at:
                del self._changes[engine]      # the picture has caught up with the change
                continue
            if doc is None:                    # an engine that has not written its first picture yet
                docs[engine] = {"engine": engine, "at": at.isoformat(), "operators": [entry]}
                continue
            others = [o for o in doc.get("operators") or () if o.get("id") != entry.get("id")]
            docs[engine] = {**doc, "at": at.isoformat(), "operators": [*others, entry]}   # the newer moment
        return list(docs.values())


def beat_offset(key: int) -> float:
    """Where in the reading period a view reads the pictures, as a fraction: spread evenly over the
    views of a server whatever their keys (the golden ratio's sequence). Without it every console read on
    the same notification (the engine writes every second), so a server's hundreds of consoles read,
    parsed and drew the floor at one instant, and a card arriving then waited for all of them."""
    return (key * 0.6180339887498949) % 1.0


def on_beat(now: float, every_s: float, offset_s: float) -> float:
    """The last moment of a view's beat (``offset_s`` + k·``every_s``) at or before ``now``: its next read
    is due one period later, on the same beat, however late this one was."""
    if every_s <= 0:
        return now
    return now - (now - offset_s) % every_s


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


async def send_command(db: asyncpg.Pool | asyncpg.Connection, *, operator_id: int, command: str,
                       args: Mapping[str, Any], actor: str, now: datetime, person_id: int | None = None) -> int:
    """Write one command row and wake the engines; returns the row id (to look up its result).
    ``person_id``: who is logged in (``dialer serve``); the engine checks their rights before applying it."""
    check_command(command, args)
    try:
        return await operator_commands.send(db, operator_id=operator_id, command=command, args=args, actor=actor,
                                            now=now, person_id=person_id)
    except STORE_UNREACHABLE as exc:    # a key pressed while the store is down: said, and the view lives on
        raise CommandError(f"{command} not sent: the store is unreachable ({type(exc).__name__}); press it again "
                           "when it answers") from None


async def command_results(db: asyncpg.Pool | asyncpg.Connection, ids: Iterable[int]) -> list[CommandResult]:
    """The results known so far; none while the store is unreachable (read again with the next picture)."""
    try:
        return await operator_commands.results(db, ids)
    except STORE_UNREACHABLE:
        return []


