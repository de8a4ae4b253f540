"""The ``campaign_owner`` row and the advisory lock beside it: the statements of ``dialer/ownership/campaigns.py``,
which says why each exists (fencing, staleness by the database's clock, the lock session of a stuck owner)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

LockKey = tuple[int, int]


@dataclass(frozen=True)
class Owner:
    """One row of ``campaign_owner`` as views and metrics show it."""
    campaign_id: int
    engine: str
    epoch: int
    heartbeat_age_s: float
    released: bool


@dataclass(frozen=True)
class Previous:
    """The row as a new owner found it, before writing itself in."""
    engine: str
    released: bool


async def lock_namespaces(conn: asyncpg.Connection, campaigns: str, groups: str) -> LockKey:
    """The first halves of the lock keys, campaigns' and groups', in this schema."""
    row = await conn.fetchrow("SELECT hashtext($1 || current_schema()), hashtext($2 || current_schema())",
                              campaigns, groups)
    return row[0], row[1]


async def group_of(conn: asyncpg.Connection, campaign_id: int) -> int | None:
    group_id: int | None = await conn.fetchval("SELECT group_id FROM campaign WHERE id = $1", campaign_id)
    return group_id


async def try_lock(conn: asyncpg.Connection, key: LockKey) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *key))


async def unlock(conn: asyncpg.Connection, key: LockKey) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1, $2)", *key)


async def release(conn: asyncpg.Connection, campaign_id: int, engine: str, epoch: int, key: LockKey, *,
                  channel: str) -> None:
    """Mark the row released, let the lock go and announce it on ``channel``."""
    await conn.execute(
        """UPDATE campaign_owner SET released_at = clock_timestamp()
           WHERE campaign_id = $1 AND engine = $2 AND epoch = $3""",
        campaign_id, engine, epoch)
    await unlock(conn, key)
    await conn.execute("SELECT pg_notify($1, $2)", channel, str(campaign_id))


async def heartbeat(conn: asyncpg.Connection, engine: str) -> set[tuple[int, int]]:
    """Beat every row this session holds; the (campaign, epoch) pairs still ours."""
    rows = await conn.fetch(
        """UPDATE campaign_owner SET heartbeat_at = clock_timestamp()
           WHERE engine = $1 AND backend_pid = pg_backend_pid() AND released_at IS NULL
           RETURNING campaign_id, epoch""", engine)
    return {(r["campaign_id"], r["epoch"]) for r in rows}


async def record_owner(conn: asyncpg.Connection, campaign_id: int, engine: str) -> tuple[int, Previous | None]:
    """Write ``engine`` into the campaign's row with a new epoch, in one transaction: (the epoch, the row
    as it was, if there was one)."""
    async with conn.transaction():
        before = await conn.fetchrow(
            "SELECT engine, released_at FROM campaign_owner WHERE campaign_id = $1 FOR UPDATE", campaign_id)
        epoch: int = await conn.fetchval(
            """INSERT INTO campaign_owner AS o (campaign_id, engine, backend_pid, acquired_at, heartbeat_at)
               VALUES ($1, $2, pg_backend_pid(), clock_timestamp(), clock_timestamp())
               ON CONFLICT (campaign_id) DO UPDATE SET
                   engine = EXCLUDED.engine, epoch = o.epoch + 1, backend_pid = EXCLUDED.backend_pid,
                   acquired_at = EXCLUDED.acquired_at, heartbeat_at = EXCLUDED.heartbeat_at,
                   released_at = NULL
               RETURNING epoch""", campaign_id, engine)
    if before is None:
        return epoch, None
    return epoch, Previous(str(before["engine"]), before["released_at"] is not None)


async def stale_holder(conn: asyncpg.Connection, key: LockKey, stale_s: float) -> int | None:
    """The backend pid of the session holding ``key`` whose owner row's heartbeat is older than ``stale_s``
    by the database's clock (one row of that session tells: one UPDATE beats them all)."""
    pid: int | None = await conn.fetchval(
        """SELECT o.backend_pid FROM campaign_owner o
           JOIN pg_locks l ON l.pid = o.backend_pid AND l.locktype = 'advisory' AND l.granted
                AND l.classid = ($1::bigint & 4294967295)::oid AND l.objid = $2::bigint::oid
                AND l.objsubid = 2
           WHERE o.released_at IS NULL
             AND o.heartbeat_at < clock_timestamp() - make_interval(secs => $3)
           LIMIT 1""",
        key[0], key[1], stale_s)
    return pid


async def terminate(conn: asyncpg.Connection, pid: int) -> bool:
    return bool(await conn.fetchval("SELECT pg_terminate_backend($1, 2000)", pid))


async def owners(db: asyncpg.Pool) -> list[Owner]:
    rows = await db.fetch(
        """SELECT campaign_id, engine, epoch, released_at IS NOT NULL AS released,
                  extract(epoch FROM clock_timestamp() - heartbeat_at)::float8 AS age
           FROM campaign_owner ORDER BY campaign_id""")
    return [Owner(r["campaign_id"], r["engine"], r["epoch"], r["age"], r["released"]) for r in rows]


async def still_owner(conn: asyncpg.Connection, campaign_id: int, engine: str, epoch: int) -> bool:
    """The fence's query (also run by ``benchmarks/lists.py``, so its figure includes it)."""
    return bool(await conn.fetchval(
        """SELECT true FROM campaign_owner
           WHERE campaign_id = $1 AND engine = $2 AND epoch = $3 AND released_at IS NULL FOR SHARE""",
        campaign_id, engine, epoch))
