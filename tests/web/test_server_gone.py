"""A session whose server is gone ends. textual-serve talks to each session process over its stdin and
stdout; when ``dialer serve`` is restarted or killed, those pipes close and nobody can see or type into
the session any more. Left running, every such process would keep its store connections (two each) and
its memory, and a few restarts of a busy server would use up the store's connections."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db


async def test_a_session_ends_when_the_server_is_gone(store_schema: tuple[str, str]) -> None:
    url, schema = store_schema
    env = {**os.environ, "DIALER_DATABASE_URL": f"{url}{'&' if '?' in url else '?'}search_path={schema}",
           "COLUMNS": "80", "ROWS": "24",
           "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"}   # as textual-serve starts it
    session = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer.web", cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert session.stdin is not None and session.stdout is not None and session.stderr is not None
    try:
        async with asyncio.timeout(60):
            assert await session.stdout.readline() == b"__GANGLION__\n"   # the login is up
        session.stdin.close()       # the server is gone: its end of the session's input closes
        async with asyncio.timeout(60):                # a state, not a duration: the process has ended
            await session.stdout.read()                # (what it still draws goes nowhere)
            code = await session.wait()
    finally:
        if session.returncode is None:
            session.kill()
            await session.wait()
    assert code == 0, await session.stderr.read()
    assert b"Traceback" not in await session.stderr.read()
