"""One browser session: the login, then the person's own screen, then the logout in the audit.

Runs in the process textual-serve starts for the session (``python -m dialer.web``), on one pool of the
store; both apps run on the same event loop, one after the other (``driver.py`` keeps the session open
between them).
"""

from __future__ import annotations

import logging

import asyncpg
from textual.app import App

from dialer.clock import Clock
from dialer.views.operator_console import OperatorConsole, find_operator
from dialer.web.driver import SessionDriver
from dialer.web.login import LoginApp
from lists import operators
from people import store
from people.rights import Person

log = logging.getLogger(__name__)


async def screen_for(pool: asyncpg.Pool, person: Person, clock: Clock) -> App[None]:
    """An operator's console, or the watch view (a supervisor's campaigns, or all for a manager)."""
    if person.role == "operator":
        name = await operators.name_of(pool, person.operator_id)
        return OperatorConsole(pool, await find_operator(pool, str(name)), clock, person=person)
    from dialer.views.watch import WatchApp  # brings the what-if simulation (numpy, scipy): not for operators

    return WatchApp(pool, clock, person=person)


async def run_session(pool: asyncpg.Pool, clock: Clock, *, web: bool = True) -> Person | None:
    """The person who worked in this session (None: nobody logged in). ``web``: under textual-serve (both
    apps on ``SessionDriver``); else in a terminal, for a try on the server itself."""
    login = LoginApp(pool, clock)
    if web:
        login.driver_class = SessionDriver
    person = await login.run_async()
    if person is None:
        return None
    try:
        screen = await screen_for(pool, person, clock)
        if web:
            screen.driver_class = SessionDriver
        await screen.run_async()
    finally:
        try:
            await store.log_out(pool, person, clock.now())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("logout of %s not audited: the store is unreachable (%s)", person.name, type(exc).__name__)
    return person
