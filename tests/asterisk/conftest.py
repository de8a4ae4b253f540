"""Fixtures for the tests against a real Asterisk: the PBX (``DIALER_ASTERISK`` names its binary; every
test here is skipped without it), an observer of all its events, the store and ``dialer run``."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from lists import database
from tests.asterisk.engine_run import DialerRun
from tests.asterisk.observer import Observer
from tests.asterisk.pbx import Asterisk

BINARY = os.environ.get("DIALER_ASTERISK", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.db)
            item.add_marker(pytest.mark.slow)
            if not BINARY:
                item.add_marker(pytest.mark.skip(reason="DIALER_ASTERISK names no Asterisk binary"))


@pytest.fixture
def asterisk(tmp_path: Path) -> Iterator[Asterisk]:
    pbx = Asterisk(BINARY)
    try:
        pbx.start()
        yield pbx
    finally:
        pbx.stop()
        # Keep its logs with the test's other files (pytest keeps the last few runs), drop the rest.
        shutil.copytree(pbx.base / "log", tmp_path / "asterisk-log", dirs_exist_ok=True)
        pbx.close()


@pytest.fixture
async def observer(asterisk: Asterisk) -> AsyncIterator[Observer]:
    watcher = Observer(asterisk.port)
    watcher.start()
    try:
        yield watcher
    finally:
        await watcher.close()


@dataclass
class Store:
    db: asyncpg.Pool
    url: str
    schema: str


@pytest.fixture
async def store(store_schema: tuple[str, str]) -> AsyncIterator[Store]:
    url, schema = store_schema
    db = await database.open_db(url, search_path=schema)
    try:
        yield Store(db, url, schema)
    finally:
        await db.close()


@pytest.fixture
async def dialer(asterisk: Asterisk, store: Store, tmp_path: Path) -> AsyncIterator[DialerRun]:
    run = DialerRun(tmp_path, store.url, store.schema, asterisk.port)
    try:
        yield run
    finally:
        if run.running:
            run.kill()
            assert run.proc is not None
            await run.proc.wait()
