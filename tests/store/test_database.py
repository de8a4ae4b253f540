import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest

from lists import database

pytestmark = pytest.mark.db


async def test_migrations_bring_a_new_store_to_the_latest_version(empty_schema: tuple[str, str]) -> None:
    url, schema = empty_schema
    latest = max(v for v, _, _ in database.migrations())
    db = await database.open_db(url, search_path=schema)
    try:
        async with db.acquire() as conn:
            assert await database.schema_version(conn) == latest
            tables = {r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    finally:
        await db.close()
    assert {"campaign", "lead", "attempt", "operator", "dnc", "audit"} <= tables


async def test_migrating_twice_changes_nothing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
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
        await database.open_db("postgresql://bob:s3cret@127.0.0.1:1/x")
    assert "127.0.0.1:1" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("url", ["garbage", "mysql://bob:s3cret@db/x", "postgresql://bob:s3cret@db:port/x"])
async def test_a_store_url_that_is_not_one_is_refused_in_one_line_naming_it(url: str) -> None:
    """``DIALER_DATABASE_URL=garbage dialer campaign list`` printed asyncpg's traceback."""
    with pytest.raises(database.StoreError) as err:
        await database.open_db(url)
    message = str(err.value)
    assert "not a PostgreSQL URL" in message and "postgresql://" in message and "\n" not in message
    assert "s3cret" not in message


async def test_an_up_to_date_store_opens_while_another_schema_is_being_migrated(
        store_schema: tuple[str, str]) -> None:
    # The migration lock is one per database: an engine whose store is already migrated must not wait
    # for another schema's (or another engine's) migration to finish.
    url, schema = store_schema
    migrator = await asyncpg.connect(url)
    try:
        await migrator.execute("SELECT pg_advisory_lock(727001)")
        db = await asyncio.wait_for(database.open_db(url, search_path=schema), timeout=30)
        await db.close()
    finally:
        await migrator.close()


def test_the_embedded_server_stops_when_the_last_command_using_it_exits(tmp_path: Path) -> None:
    # A first command starts the embedded server and is killed with SIGKILL: pgserver's list of the
    # server's users keeps its process id. The next command reuses the server and must stop it when it
    # exits; the data directory stays for the command after.
    using = ("import sys, time; from pathlib import Path; from lists import database; "
             "print(database.locate(None, Path(sys.argv[1])).server.get_pid(), flush=True); time.sleep(600)")
    killed = subprocess.Popen([sys.executable, "-c", using, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert killed.stdout is not None
        postmaster = int(killed.stdout.readline())
    finally:
        killed.kill()
        killed.wait()
    assert _running(postmaster)
    done = subprocess.run([sys.executable, "-c", using.replace("time.sleep(600)", "pass"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, check=True)
    assert int(done.stdout) == postmaster
    assert not _running(postmaster), "the embedded PostgreSQL still runs after the last command exited"
    assert (tmp_path / "pg" / "PG_VERSION").exists()


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE   # a zombie has stopped; init reaps it
    except psutil.NoSuchProcess:
        return False
