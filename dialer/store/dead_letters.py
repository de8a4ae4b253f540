"""The ``dead_letter`` table: writes the recorder could not make, kept aside with their arguments
(``dialer/recorder.py``) and read back by ``dialer db dead-letters``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class DeadLetter:
    id: int
    at: datetime
    engine: str
    what: str
    error: str
    payload: str         # the write's arguments, JSON


async def set_aside(conn: asyncpg.Connection, *, engine: str, what: str, error: str, payload: str) -> None:
    await conn.execute("INSERT INTO dead_letter (engine, what, error, payload) VALUES ($1, $2, $3, $4)",
                       engine, what, error, payload)


async def newest(db: asyncpg.Pool, limit: int) -> list[DeadLetter]:
    rows = await db.fetch("SELECT id, at, engine, what, error, payload FROM dead_letter ORDER BY id DESC "
                            "LIMIT $1", limit)
    return [DeadLetter(r["id"], r["at"], r["engine"], r["what"], r["error"], r["payload"]) for r in rows]
