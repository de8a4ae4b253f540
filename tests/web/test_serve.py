"""A person's browser session, as textual-serve's page drives it: the websocket, keys and clicks in, the
screen out (drawn by a terminal emulator, as xterm.js draws it in the browser)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.web.conftest import PASSWORD, Served
from tests.web.terminal import ENTER, F5, WebTerminal, click

pytestmark = pytest.mark.db


async def _log_in(terminal: WebTerminal, name: str, password: str) -> None:
    await terminal.until_shows("dialer — log in")
    await terminal.focus()
    await terminal.type(name)
    await terminal.until_shows(name)
    await click(terminal, "password  ")   # a click moves the focus at once; keys typed after an Enter could
    await terminal.type(password + ENTER)  # still reach the name box, faster than any person types


async def test_an_operator_logs_in_in_the_browser_takes_a_call_and_its_disposition_lands_in_the_store(
        served: Served) -> None:
    async with WebTerminal(served.url) as terminal:
        await _log_in(terminal, "anna", "not the password")
        screen = await terminal.until_shows("wrong name or password")
        assert "(ext 101)" not in screen
        await terminal.type(PASSWORD + ENTER)          # the password box has the focus again, emptied
        await terminal.until_shows("Anna (ext 101)")
        await terminal.type(F5)                         # log in to the engine: it calls her phone
        await terminal.until_shows("READY")

        await served.connect_the_call()
        shown_at = asyncio.get_running_loop().time()
        screen = await terminal.until_shows("first_name: Grace", timeout=5)
        assert asyncio.get_running_loop().time() - shown_at < 1.0
        assert "phone: +15550001234" in screen

        await terminal.until_shows("disposition  ")
        await click(terminal, "disposition  ")
        await terminal.until_shows("Not interested (not_interested)")
        await click(terminal, "Not interested (not_interested)")
        await terminal.until(lambda screen: "Sale (sale)" not in screen)      # the menu closed on the choice
        await click(terminal, "notes  ")
        await terminal.type("typed in the browser")
        await terminal.until_shows("typed in the browser")
        await terminal.type("\x13")            # Ctrl+S saves, as the console's keys say
        await terminal.until_shows("disposition not_interested sent")
        async with asyncio.timeout(5):
            while (row := await served.db.fetchrow(
                    "SELECT disposition, notes FROM attempt WHERE disposition IS NOT NULL")) is None:
                await asyncio.sleep(0.05)
    assert (row["disposition"], row["notes"]) == ("not_interested", "typed in the browser")
    command = await served.db.fetchrow(
        """SELECT c.actor, p.name, c.result FROM operator_command c JOIN person p ON p.id = c.person_id
           WHERE c.command = 'disposition'""")
    assert (command["actor"], command["name"], command["result"]) == ("operator:anna", "anna", None)
    async with asyncio.timeout(5):   # the browser went away: the session ends and says so in the audit
        while await served.db.fetchval("SELECT count(*) FROM login_audit WHERE event = 'logout'") == 0:
            await asyncio.sleep(0.05)
    events = [r["event"] for r in await served.db.fetch("SELECT event FROM login_audit ORDER BY id")]
    assert events == ["failed", "login", "logout"]


async def test_no_secret_reaches_the_page_or_the_servers_log(served: Served) -> None:
    async with aiohttp.ClientSession() as http, http.get(served.url) as response:
        page = await response.text()
    async with WebTerminal(served.url) as terminal:
        await _log_in(terminal, "anna", PASSWORD)
        await terminal.until_shows("Anna (ext 101)")
        assert PASSWORD not in terminal.text()
    log = served.log.read_text()
    for secret in (PASSWORD, "postgresql://", "search_path"):
        assert secret not in page and secret not in log
