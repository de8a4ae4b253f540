"""The ``engine`` table: one row per engine name, with its last heartbeat."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def beat(conn: asyncpg.Connection, *, name: str, now: datetime) -> None:
    """This engine is alive now (its first beat also says when it started)."""
    await conn.execute(
        """INSERT INTO engine (name, started_at, heartbeat_at) VALUES ($1, $2, $2)
           ON CONFLICT (name) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at""", name, now)


async def hold_name(conn: asyncpg.Connection, name: str) -> bool:
    """Take the engine name for as long as this session lives (a session-level advisory lock, in this
    schema); False when another live session holds it. A dead engine's lock goes with its connection."""
    return bool(await conn.fetchval(
        "SELECT pg_try_advisory_lock(hashtext('dialer.engine:' || current_schema()), hashtext($1))", name))


async def names_held(db: asyncpg.Pool | asyncpg.Connection, names: list[str]) -> set[str]:
    """Of these engine names, those a live session holds (``hold_name``): an engine killed, crashed or cut
    off from the store holds its name no more, at once (its session ends with its connection)."""
    rows = await db.fetch(
        """SELECT n FROM unnest($1::text[]) AS n WHERE EXISTS (
               SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid = (hashtext('dialer.engine:' || current_schema())::bigint & 4294967295)::oid
                 AND l.objid = (hashtext(n)::bigint & 4294967295)::oid)""", names)
    return {r["n"] for r in rows}
