"""Shared fixtures. The store is real PostgreSQL: the server named by DIALER_DATABASE_URL, or else an
embedded one (pgserver) started once per test run, stopped and removed when the run ends. The migrations
run once per run into a template schema; each test gets its own schema in the template's state
(``tests/store_stock.py``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from lists import database
from tests.store_stock import SchemaStock

_embedded: database.StoreLocation | None = None
_embedded_dir: Path | None = None
_stock: SchemaStock | None = None


def store_url() -> str:
    global _embedded, _embedded_dir
    url = os.environ.get("DIALER_DATABASE_URL")
    if url:
        return url
    if _embedded is None:
        _embedded_dir = Path(tempfile.mkdtemp(prefix="dialer-test-store-"))
        _embedded = database.locate(None, _embedded_dir)
        _throw_away(_embedded)
    return _embedded.url


def _throw_away(location: database.StoreLocation) -> None:
    """The run's own server is removed at the end: it need not survive a crash, so it does not wait for
    the disk (the machine's server, when given, is left as it is)."""
    location.server.psql("ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
                         "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();")


def stock() -> SchemaStock:
    global _stock
    if _stock is None:
        _stock = SchemaStock(store_url())
    return _stock


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this run's schemas; stop the embedded server and remove its directory."""
    global _stock, _embedded, _embedded_dir
    try:
        if _stock is not None:
            asyncio.run(_stock.close())
    finally:
        _stock = None
        if _embedded is not None:
            _embedded.release()
            _embedded = None
        if _embedded_dir is not None:
            shutil.rmtree(_embedded_dir, ignore_errors=True)
            _embedded_dir = None


@pytest.fixture
async def store_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema) of the test's own migrated schema, in the state the migrations leave."""
    schema = await stock().take()
    try:
        yield stock().url, schema
    finally:
        await stock().give_back(schema)


@pytest.fixture
async def empty_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema) of a new empty schema, for the tests of migrating itself."""
    url = store_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(url)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    await conn.close()
    try:
        yield url, schema
    finally:
        conn = await asyncpg.connect(url)
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


@pytest.fixture
async def db(store_schema: tuple[str, str]) -> AsyncIterator[asyncpg.Pool]:
    url, schema = store_schema
    db = await database.open_db(url, search_path=schema)
    try:
        yield db
    finally:
        await db.close()
