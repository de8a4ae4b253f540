"""The screen a browser session gets after the login: a supervisor's watch view rings their own phone
to listen (the extension the store has for them), an operator's console is their own operator's."""

from __future__ import annotations

import asyncpg
import pytest

from dialer.clock import SystemClock
from dialer.views.operator_console import OperatorConsole
from dialer.views.watch import WatchApp
from dialer.web.session import screen_for
from lists import operators
from people import store
from tests.views.conftest import NOW

pytestmark = pytest.mark.db


async def test_a_supervisor_listens_from_their_own_phone_and_an_operator_works_as_themself(
        db: asyncpg.Pool) -> None:
    await operators.create(db, name="Anna", extension="101")
    await store.add(db, name="anna", role="operator", password="password1", operator="Anna", now=NOW)
    await store.add(db, name="sofia", role="supervisor", password="password2", operator=None, now=NOW,
                    extension="200")
    watch = await screen_for(db, await store.log_in(db, "sofia", "password2", NOW), SystemClock())
    assert isinstance(watch, WatchApp) and watch.supervisor_extension == "200"
    console = await screen_for(db, await store.log_in(db, "anna", "password1", NOW), SystemClock())
    assert isinstance(console, OperatorConsole) and console.operator.name == "Anna"
