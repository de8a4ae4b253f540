"""One worker of ``dialer serve``: an aiohttp server whose browser sessions are asyncio tasks of its own.

textual-serve (whose page, scripts and routes are kept: ``Server`` is subclassed) starts a process for
every browser session, and each such process paid for Python, Textual and the store's client again, held
two store connections of its own, and woke up on its own. A worker instead runs each session's apps as a
task (``session.py``) with a driver that writes to the page's websocket (``driver.py``), and its
sessions share a few store connections (one small ``db``) and one LISTEN connection
(``dialer/views/listener.py``), on which each console's operator channel is a callback. ``dialer serve``
starts one worker per core on the same listening socket (``workers.py``).

When a page closes, its session's app exits and the person is logged out in the audit; when the worker
stops (``dialer serve`` stopped, or gone: the worker's stdin closes), every session ends the same way
before ``db`` closes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from typing import Any

import asyncpg
from aiohttp import web
from textual_serve.server import Server, to_int

from dialer.clock import SystemClock
from dialer.views.listener import SharedListener
from dialer.web import shared_css, trace
from dialer.web.browser import Browser
from dialer.web.collector import SessionCollector
from dialer.web.session import run_session
from lists import database

log = logging.getLogger(__name__)

POOL_SIZE = 8       # reads and commands of all the worker's sessions: each holds a connection for milliseconds
HEARTBEAT_S = 30    # a page whose pong is half this late is taken for gone (textual-serve: 15)
LEAVE_S = 10.0      # how long a session may take to log out once its page is gone


class BrowserServer(Server):
    def __init__(self, store_url: str, *, host: str, port: int, public_url: str | None) -> None:
        super().__init__("dialer", host=host, port=port, title="dialer", public_url=public_url)
        self.store_url = store_url
        self.clock = SystemClock()
        self.db: asyncpg.Pool | None = None
        self.listener: SharedListener | None = None
        self.sessions: dict[asyncio.Task[Any], Browser] = {}
        self.collector = SessionCollector()
        self.loop_watch = trace.LoopWatch() if trace.ENABLED else None
        if trace.ENABLED:
            self.collector.pauses.log_from_s = trace.STALL_S

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.on_cleanup.append(self.on_cleanup)
        return app

    async def on_startup(self, app: web.Application) -> None:
        self.db = await open_worker_db(self.store_url)
        self.listener = SharedListener(self.db)
        await self.listener.open()
        asyncio.get_running_loop().add_reader(sys.stdin.fileno(), self._parent_said)
        self.collector.start()     # everything imported and opened: frozen out of the collector's walks
        if self.loop_watch is not None:
            self.loop_watch.start()

    def _parent_said(self) -> None:
        """Nothing is written to the worker's stdin: it closes when ``dialer serve`` is gone (workers.py)."""
        if not os.read(sys.stdin.fileno(), 4096):
            asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
            os.kill(os.getpid(), signal.SIGTERM)   # stops as when asked to: every session logs out

    async def on_shutdown(self, app: web.Application) -> None:
        self.collector.stop()    # the sessions end at once: no walk of theirs to wait for
        for browser in self.sessions.values():
            browser.close()      # each session's app exits and logs its person out
        if self.sessions:
            await asyncio.wait(self.sessions, timeout=LEAVE_S)

    async def on_cleanup(self, app: web.Application) -> None:
        if self.listener is not None:
            await self.listener.close()
        if self.db is not None:
            await self.db.close()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT_S)
        await websocket.prepare(request)
        assert self.db is not None
        browser = Browser(websocket, to_int(request.query.get("width", "80"), 80),
                          to_int(request.query.get("height", "24"), 24))
        # a task of its own: its own copy of the context, in which Textual keeps the app in charge
        session = asyncio.get_running_loop().create_task(
            run_session(self.db, self.clock, browser, self.listener), name="browser-session")
        self.sessions[session] = browser
        self.collector.opened()
        session.add_done_callback(lambda done: self._ended(done, browser))
        await browser.read()
        try:
            await asyncio.wait_for(asyncio.shield(session), LEAVE_S)
        except TimeoutError:
            log.warning("a session did not end %.0f s after its page closed: cancelled", LEAVE_S)
            session.cancel()
        return websocket

    def _ended(self, session: asyncio.Task[Any], browser: Browser) -> None:
        self.sessions.pop(session, None)
        self.collector.closed()
        browser.close()    # the person logged out (Ctrl+Q): the page's websocket closes
        if not session.cancelled() and (error := session.exception()) is not None:
            log.error("a browser session failed: %s", error, exc_info=error)


async def open_worker_db(url: str, *, search_path: str | None = None) -> asyncpg.Pool:
    """The worker's pool, shared by its sessions. Its connections are all opened now, outside any session:
    a connection opened later would be opened inside a session's context (its apps), and its socket's
    reader, registered with the loop, would keep that session's apps alive as long as the connection
    lives. And no asyncpg timers, for the same reason (``lists/database.py``)."""
    return await database.open_db(url, search_path=search_path, min_size=POOL_SIZE, max_size=POOL_SIZE,
                                  timers=False)


def serve_on(sock: socket.socket, store_url: str, *, host: str, port: int, public_url: str | None) -> None:
    """Serve on a socket bound by ``dialer serve`` until SIGTERM or SIGINT."""
    shared_css.share()
    server = BrowserServer(store_url, host=host, port=port, public_url=public_url)
    web.run_app(server._make_app(), sock=sock, print=lambda *_: None, shutdown_timeout=LEAVE_S + 2)
