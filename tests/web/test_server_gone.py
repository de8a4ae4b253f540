"""A session whose server is gone ends. ``dialer serve`` runs the sessions in worker processes; if it is
killed (nothing it can catch), its workers must not serve on unseen, each holding its sessions, their
store connections and its memory: they stop, and each session logs its person out in the audit."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, Served
from tests.web.terminal import ENTER, WebTerminal, click

pytestmark = pytest.mark.db


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_the_sessions_end_and_log_out_when_the_server_is_killed(served: Served) -> None:
    workers = _children(served.server.pid)
    assert workers
    async with WebTerminal(served.url) as terminal:
        await terminal.until_shows("dialer — log in")
        await terminal.focus()
        await terminal.type("anna")
        await terminal.until_shows("anna")
        await click(terminal, "password  ")
        await terminal.type(PASSWORD + ENTER)
        await terminal.until_shows("Anna (ext 101)")
        os.kill(served.server.pid, signal.SIGKILL)
        await terminal.until(lambda _screen: terminal.closed, timeout=30)   # the worker closed the page
    async with asyncio.timeout(30):                  # states, not durations: the workers have ended …
        while any(_alive(pid) for pid in workers):
            await asyncio.sleep(0.1)
    events = [r["event"] for r in await served.db.fetch("SELECT event FROM login_audit ORDER BY id")]
    assert events == ["login", "logout"]             # … and Anna's session was logged out on the way


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"    # not a zombie waiting for whoever reaps it
