"""Shared fixtures. The store is real PostgreSQL: the server named by DIALER_DATABASE_URL, or else an
embedded one (pgserver) started once per test run. Each test gets its own schema, dropped afterwards."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from lists import database

_embedded_url: str | None = None


def store_url() -> str:
    global _embedded_url
    url = os.environ.get("DIALER_DATABASE_URL")
    if url:
        return url
    if _embedded_url is None:
        data_dir = Path(tempfile.mkdtemp(prefix="dialer-test-store-"))
        _embedded_url = database.locate(None, data_dir).url
    return _embedded_url


@pytest.fixture
async def store_schema() -> AsyncIterator[tuple[str, str]]:
    """(url, schema) of a fresh, empty schema; migrations are applied by open_pool."""
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
async def pool(store_schema: tuple[str, str]) -> AsyncIterator[asyncpg.Pool]:
    url, schema = store_schema
    pool = await database.open_pool(url, search_path=schema)
    try:
        yield pool
    finally:
        await pool.close()
