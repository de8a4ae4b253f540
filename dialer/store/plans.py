"""A transaction whose statements run on their prepared (generic) plans: the claim's (``dialer/claims.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


@asynccontextmanager
async def generic_plans(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction whose statements run on their prepared (generic) plans. PostgreSQL's own choice plans
    the claim afresh at every call, because a fresh plan knows which categories are nearly empty and so
    looks cheaper; the generic plan walks the same index in the same order, and at the engine's claim
    rate the planning is a large share of the database's work per claim (benchmarks/results/claims-notes.md).
    Set in the same round trip as BEGIN, for this transaction only.

    Cancelled anywhere (an engine's stop cancels its pacing rounds), BEGIN and COMMIT included, it rolls
    back itself: the connection goes back to the pool out of its transaction."""
    try:
        await conn.execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
        yield
        await conn.execute("COMMIT")
    except BaseException:
        await _roll_back(conn)
        raise


async def _roll_back(conn: asyncpg.Connection) -> None:
    """Cancelled again while the ROLLBACK is on its way, the transaction would stay open for the pool to find:
    the connection is dropped instead (the server rolls back the transaction of a session that ends)."""
    try:
        await conn.execute("ROLLBACK")     # after a failed COMMIT there is none left: only a warning
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        pass    # the first error is the one to see
    except asyncio.CancelledError:
        conn.terminate()
        raise
