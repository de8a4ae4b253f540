"""The ``engine`` table: one row per engine name, with its last heartbeat."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def beat(conn: asyncpg.Connection, *, name: str, now: datetime) -> None:
    """This engine is alive now (its first beat also says when it started)."""
    await conn.execute(
        """INSERT INTO engine (name, started_at, heartbeat_at) VALUES ($1, $2, $2)
           ON CONFLICT (name) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at""", name, now)
