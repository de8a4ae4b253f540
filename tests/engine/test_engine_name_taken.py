"""A second ``dialer run`` with the name of an engine already running on the store is refused before it
touches anything: it took the running engine's open attempts for a dead engine's and re-attached them
("recovered the open attempts of engine-1: 2 re-attached"), two engines following the same calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from rich.console import Console

from config.settings import Settings
from dialer.service import EngineNameTaken, serve
from dialer.store import engines
from lists import database

pytestmark = pytest.mark.db


@pytest.fixture
async def store(store_schema: tuple[str, str]) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    url, schema = store_schema
    db = await database.open_db(url, search_path=schema)
    try:
        yield db, f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    finally:
        await db.close()


async def test_a_second_engine_with_a_running_engines_name_is_refused(store: tuple[asyncpg.Pool, str]) -> None:
    db, store_url = store
    async with db.acquire() as running:                 # the first engine's session holds its name
        assert await engines.hold_name(running, "engine-1")
        # no AMI server listens on port 1: the refusal must come before any attempt to reach the PBX
        settings = Settings(ami_port=1, ami_username="dialer", ami_secret="x", engine_name="engine-1")
        with pytest.raises(EngineNameTaken, match=r"engine-1.*already running.*DIALER_ENGINE_NAME"):
            async with asyncio.timeout(20):
                await serve(settings, store_url, operator_channel="Local/{ext}@operators", console=Console(quiet=True))
        async with db.acquire() as other:
            assert await engines.hold_name(other, "engine-2")     # another name is free
            assert not await engines.hold_name(other, "engine-1")


async def test_the_name_is_free_again_once_its_engine_is_gone(store: tuple[asyncpg.Pool, str]) -> None:
    db, _ = store
    async with db.acquire() as first:
        assert await engines.hold_name(first, "engine-1")
        await first.close()        # the process died: its session and lock with it
    async with db.acquire() as second:
        assert await engines.hold_name(second, "engine-1")
