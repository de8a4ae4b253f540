"""The claim's transaction (``dialer/store/plans.py``) cancelled at any point, as an engine's stop cancels a
pacing round: the connection goes back to the pool out of its transaction, with nothing for the pool to
roll back behind our back (asyncpg then reports "Resetting connection with an active transaction")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dialer.store.plans import generic_plans
from lists import database

pytestmark = pytest.mark.db

SLOW_COMMIT = """
CREATE TABLE slow_commit (x int);
CREATE FUNCTION slow_commit_wait() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END';
CREATE CONSTRAINT TRIGGER slow_commit_wait AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION slow_commit_wait();
"""


@pytest.fixture
async def pool(empty_schema: tuple[str, str]) -> AsyncIterator[asyncpg.Pool]:
    url, schema = empty_schema
    db = await database.open_db(url, search_path=schema, min_size=1, max_size=1)
    await db.execute(SLOW_COMMIT)
    try:
        yield db
    finally:
        await db.close()


async def _in_statement(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, generic_plans(conn):
        await conn.execute("SELECT pg_sleep(1)")


async def _in_commit(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, generic_plans(conn):
        await conn.execute("INSERT INTO slow_commit VALUES (1)")     # COMMIT runs the deferred trigger


@pytest.mark.parametrize(("work", "after_s", "cancels"),
                         [(_in_statement, 0.0, 1), (_in_statement, 0.2, 1), (_in_statement, 0.2, 2),
                          (_in_commit, 0.2, 1)],
                         ids=["in the BEGIN", "in a statement", "again while rolling back", "in the commit"])
async def test_a_cancelled_claim_transaction_leaves_nothing_for_the_pool_to_roll_back(
        pool: asyncpg.Pool, work: object, after_s: float, cancels: int) -> None:
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
    try:
        task = asyncio.create_task(work(pool))  # type: ignore[operator]
        await asyncio.sleep(after_s)     # 0: one pass of the loop, the task waits for its BEGIN's answer
        for _ in range(cancels):
            task.cancel()
            for _ in range(2):   # the task runs its except clause: the ROLLBACK is on its way
                await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await task
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM slow_commit") == 0
    finally:
        loop.set_exception_handler(None)
    assert reported == []
