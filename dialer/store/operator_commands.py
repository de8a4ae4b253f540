"""The ``operator_command`` rows: what consoles and the watch view ask of the engines, and the engine's
answer on the same row (``dialer/views/feed.py`` writes them, ``dialer/control.py`` applies them)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dialer.bus import COMMAND_CHANNEL

# Commands that act on a call (place one, end one, listen in) are done only while fresh: one written while
# no engine ran is refused when an engine starts, rather than dialing a number the operator gave up on.
# (Here, not in the control plane that applies the rule: the consoles tell the operator of it beforehand.)
STALE_COMMAND_S = 60.0
CALL_COMMANDS = ("dial", "end_call", "spy")


@dataclass(frozen=True)
class CommandResult:
    id: int
    command: str
    done: bool
    refused: str | None


@dataclass(frozen=True)
class PendingCommand:
    id: int
    operator_id: int
    command: str
    args: dict[str, Any]
    person_id: int | None
    created_at: datetime | None = None    # when the console wrote it (its own clock)


async def send(db: asyncpg.Pool | asyncpg.Connection, *, operator_id: int, command: str, args: Mapping[str, Any],
               actor: str, now: datetime, person_id: int | None) -> int:
    """Write one command row and wake the engines, in one transaction; the row id."""
    async with _connection(db) as conn, conn.transaction():
        command_id = await conn.fetchval(
            """INSERT INTO operator_command (operator_id, command, args, actor, created_at, person_id)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6) RETURNING id""",
            operator_id, command, json.dumps(dict(args)), actor, now, person_id,
        )
        await conn.execute("SELECT pg_notify($1, $2)", COMMAND_CHANNEL, str(command_id))
    return int(command_id)


async def results(db: asyncpg.Pool | asyncpg.Connection, ids: Iterable[int]) -> list[CommandResult]:
    rows = await db.fetch(
        "SELECT id, command, done_at, result FROM operator_command WHERE id = ANY($1::bigint[]) ORDER BY id",
        list(ids),
    )
    return [CommandResult(r["id"], r["command"], r["done_at"] is not None, r["result"]) for r in rows]


async def pending(db: asyncpg.Pool, operator_ids: list[int]) -> list[PendingCommand]:
    """The commands not yet answered for these operators, oldest first."""
    rows = await db.fetch(
        """SELECT id, operator_id, command, args, person_id, created_at FROM operator_command
           WHERE done_at IS NULL AND operator_id = ANY($1::bigint[]) ORDER BY id""", operator_ids)
    return [PendingCommand(r["id"], r["operator_id"], r["command"],
                           r["args"] if isinstance(r["args"], dict) else json.loads(r["args"]), r["person_id"],
                           r["created_at"])
            for r in rows]


async def answer(db: asyncpg.Pool, command_id: int, *, now: datetime, result: str | None) -> None:
    """Done: None when applied, else why it was refused."""
    await db.execute("UPDATE operator_command SET done_at = $2, result = $3 WHERE id = $1", command_id, now, result)


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
