import asyncio

import asyncpg
import pytest

from lists import database

pytestmark = pytest.mark.db


async def test_migrations_bring_a_new_store_to_the_latest_version(empty_schema: tuple[str, str]) -> None:
    url, schema = empty_schema
    latest = max(v for v, _, _ in database.migrations())
    pool = await database.open_pool(url, search_path=schema)
    try:
        async with pool.acquire() as conn:
            assert await database.schema_version(conn) == latest
            tables = {r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    finally:
        await pool.close()
    assert {"campaign", "lead", "attempt", "operator", "dnc", "audit"} <= tables


async def test_migrating_twice_changes_nothing(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        first = await database.migrate(conn)
        second = await database.migrate(conn)
        rows = await conn.fetchval("SELECT count(*) FROM schema_version")
    assert first == second
    assert rows == len(database.migrations())


def test_password_never_appears_in_a_store_description() -> None:
    location = database.StoreLocation("postgresql://bob:s3cret@db:5432/x", embedded=False, data_dir=None)
    assert "s3cret" not in location.describe()
    assert "bob" in location.describe()


async def test_unreachable_store_names_the_address_without_the_password() -> None:
    with pytest.raises(database.StoreError) as err:
        await database.open_pool("postgresql://bob:s3cret@127.0.0.1:1/x")
    assert "127.0.0.1:1" in str(err.value)
    assert "s3cret" not in str(err.value)


async def test_an_up_to_date_store_opens_while_another_schema_is_being_migrated(
        store_schema: tuple[str, str]) -> None:
    # The migration lock is one per database: an engine whose store is already migrated must not wait
    # for another schema's (or another engine's) migration to finish.
    url, schema = store_schema
    migrator = await asyncpg.connect(url)
    try:
        await migrator.execute("SELECT pg_advisory_lock(727001)")
        pool = await asyncio.wait_for(database.open_pool(url, search_path=schema), timeout=30)
        await pool.close()
    finally:
        await migrator.close()
