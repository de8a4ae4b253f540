"""One browser session: the login, then the person's own screen, then the logout in the audit.

Runs as an asyncio task of a ``dialer serve`` worker (``server.py``); both apps draw into the same
browser page (``browser.py``), one after the other, through their own driver (``driver.py``). Every
session of the worker shares its store connections (``db``) and its LISTEN connection.
``browser=None``: in a terminal, for a try on the server itself (``python -m dialer.web``).
"""

from __future__ import annotations

import logging
from typing import TypeVar

import asyncpg
from textual.app import App

from dialer.clock import Clock
from dialer.views.listener import SharedListener
from dialer.views.operator_console import OperatorConsole, find_operator
from dialer.web import trace
from dialer.web.browser import Browser
from dialer.web.driver import driver_for
from dialer.web.login import LoginApp
from lists import operators
from people import store
from people.rights import Person

log = logging.getLogger(__name__)
T = TypeVar("T")


async def screen_for(db: asyncpg.Pool, person: Person, clock: Clock,
                     listener: SharedListener | None = None) -> App[None]:
    """An operator's console, or the watch view (a supervisor's campaigns, or all for a manager)."""
    if person.role == "operator":
        name = await operators.name_of(db, person.operator_id)
        return OperatorConsole(db, await find_operator(db, str(name)), clock, person=person, listener=listener)
    from dialer.views.watch import WatchApp  # brings the what-if simulation (numpy, scipy): not for operators

    return WatchApp(db, clock, person=person, listener=listener, supervisor_extension=person.extension)


async def run_session(db: asyncpg.Pool, clock: Clock, browser: Browser | None = None,
                      listener: SharedListener | None = None) -> Person | None:
    """The person who worked in this session (None: nobody logged in)."""
    person = await _run(LoginApp(db, clock), browser)
    if person is None:
        return None
    try:
        if browser is None or not browser.gone.is_set():
            screen = await screen_for(db, person, clock, listener)
            if trace.ENABLED and browser is not None and isinstance(screen, OperatorConsole):
                screen.card_trace = trace.CardTrace(browser, screen.operator.name)
            await _run(screen, browser)
    finally:
        try:
            await store.log_out(db, person, clock.now())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("logout of %s not audited: the store is unreachable (%s)", person.name, type(exc).__name__)
    return person


async def _run(app: App[T], browser: Browser | None) -> T | None:
    if browser is not None:
        app.driver_class = driver_for(browser)
    return await app.run_async()
