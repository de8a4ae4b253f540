"""A login screen is freed with its session, whatever was typed into it, and what was typed as the
password is held by nothing once the login has been decided: a worker serves hundreds of logins a shift."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import secrets
import weakref
from datetime import UTC, datetime

import asyncpg
import pytest

from dialer.clock import SystemClock
from dialer.web.browser import Browser
from dialer.web.driver import driver_for
from dialer.web.login import LoginApp
from dialer.web.server import open_worker_db
from lists import operators
from people import store
from people.rights import Person
from tests.web.holders import held_by
from tests.web.test_closed_console_freed import Page

pytestmark = pytest.mark.db
TYPED = 20     # the password's length


async def _log_in(db: asyncpg.Pool, password: str) -> tuple[weakref.ref[LoginApp], Person | None]:
    """Anna types her name and ``password`` into a login page; the page closes."""
    browser = Browser(Page(), 100, 30)      # type: ignore[arg-type]
    browser.focused = True                  # the page has the keyboard
    app = LoginApp(db, SystemClock())
    app.driver_class = driver_for(browser)
    session = asyncio.ensure_future(app.run_async())
    async with asyncio.timeout(20):
        while browser.driver is None or app.focused is None:
            await asyncio.sleep(0.01)
        browser.driver.feed("anna\r")
        while app.focused is None or app.focused.id != "password":
            await asyncio.sleep(0.01)
        browser.driver.feed(password + "\r")
        while not await db.fetchval("SELECT count(*) FROM login_audit"):
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)           # the page shows the outcome a little while
    browser.close()
    person = await session
    return weakref.ref(app), person


def _holders_of(digest: bytes) -> list[str]:
    """What holds a string whose SHA-256 is ``digest``."""
    return [type(o).__qualname__ for o in gc.get_objects()
            if any(isinstance(r, str) and len(r) == TYPED and hashlib.sha256(r.encode()).digest() == digest
                   for r in gc.get_referents(o))]


@pytest.mark.parametrize("right", [False, True], ids=["wrong password", "right password"])
async def test_a_login_screen_where_a_password_was_typed_is_freed(right: bool, db: asyncpg.Pool,
                                                                 store_schema: tuple[str, str]) -> None:
    await operators.create(db, name="Anna", extension="101")
    password = "pw-" + secrets.token_hex(TYPED // 2 - 1)[1:]   # made here: no constant of the module holds it
    typed = hashlib.sha256(password.encode()).digest()         # what is looked for once the test lets go of it
    await store.add(db, name="anna", role="operator", password=password if right else "another password",
                    operator="Anna", now=datetime.now(UTC))
    url, schema = store_schema
    worker_db = await open_worker_db(url, search_path=schema)
    try:
        closed, person = await _log_in(worker_db, password)
        del password
        assert (person is not None) == right
        for _ in range(20):
            await asyncio.sleep(0)             # the app's last callbacks run
        gc.collect()
        if closed() is not None:
            pytest.fail(f"the login screen is held:\n{held_by(closed())}")
        assert _holders_of(typed) == []
    finally:
        await worker_db.close()
