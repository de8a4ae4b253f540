"""A transaction whose statements run on their prepared (generic) plans: the claim's (``dialer/claims.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg


@asynccontextmanager
async def generic_plans(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction whose statements run on their prepared (generic) plans. PostgreSQL's own choice plans
    the claim afresh at every call, because a fresh plan knows which categories are nearly empty and so
    looks cheaper; the generic plan walks the same index in the same order, and at the engine's claim
    rate the planning is a large share of the database's work per claim (benchmarks/results/claims-notes.md).
    Set in the same round trip as BEGIN, for this transaction only."""
    await conn.execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        yield
    except BaseException:
        with suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):   # the first error is the one to see
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
