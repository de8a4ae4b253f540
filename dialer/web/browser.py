"""One browser page's end of a session: the websocket that textual-serve's page (xterm.js) opens.

The page speaks in JSON envelopes: ``["stdin", keys]``, ``["resize", {"width", "height"}]``,
``["focus"]``, ``["blur"]``, ``["ping", x]`` (answered ``["pong", x]``); the server answers with the
terminal's bytes in binary messages and closes the websocket when the session ends. What the apps draw
is queued and sent by one writer, so frames keep their order and a burst of small writes leaves as one
message.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Protocol

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

BACKLOG_BYTES = 8 << 20   # a page that reads nothing for this long is gone: its screens are not kept


class OnScreen(Protocol):
    """The app on the page now, as its driver (``driver.py``) takes what the page says."""

    def feed(self, keys: str) -> None: ...
    def resize(self, width: int, height: int) -> None: ...
    def set_focus(self, focused: bool) -> None: ...
    def leave(self) -> None: ...


class Browser:
    def __init__(self, websocket: web.WebSocketResponse, width: int, height: int) -> None:
        self.websocket = websocket
        self.size = (width, height)
        self.focused = False          # the page's last word on focus (an app starts as the page is)
        self.driver: OnScreen | None = None   # the app on screen now, through its driver
        self.gone = asyncio.Event()   # the page closed, or the session ended
        self._out: list[bytes] = []
        self._queued = 0
        self._written = 0             # writes so far (each ``write``), and those sent (``after_sent``)
        self._sent = 0
        self._after_sent: list[tuple[int, Callable[[], None]]] = []
        self._wake = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(self._write_out(), name="browser-writer")
        self._closing: asyncio.Task[bool] | None = None

    def write(self, data: bytes) -> None:
        if self.gone.is_set():
            return
        self._out.append(data)
        self._queued += len(data)
        self._written += 1
        if self._queued > BACKLOG_BYTES:
            log.warning("a browser read nothing of %d bytes: its session ends", self._queued)
            self.close()
        self._wake.set()

    async def _write_out(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._out:
                continue
            data, self._out, self._queued, written = b"".join(self._out), [], 0, self._written
            try:
                await self.websocket.send_bytes(data)
            except (ConnectionError, RuntimeError):   # closing or closed: the page is gone
                self.close()
                return
            self._sent = written
            if self._after_sent:
                due = [call for upto, call in self._after_sent if upto <= written]
                self._after_sent = [(upto, call) for upto, call in self._after_sent if upto > written]
                for call in due:
                    call()

    def after_sent(self, call: Callable[[], None]) -> None:
        """``call()`` once everything written so far has been handed to the websocket (``trace.py``)."""
        if self._sent >= self._written:
            call()
        else:
            self._after_sent.append((self._written, call))

    async def read(self) -> None:
        """The page's messages, until it closes (or the session closes it)."""
        try:
            async for message in self.websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    envelope = json.loads(message.data)
                    kind, data = envelope[0], (envelope[1] if len(envelope) > 1 else None)
                except (ValueError, TypeError, IndexError, KeyError):
                    continue   # not the page's protocol: nothing to do with it
                await self._received(kind, data)
        finally:
            self.close()

    async def _received(self, kind: object, data: object) -> None:
        driver = self.driver
        if kind == "stdin" and isinstance(data, str):
            if driver is not None:
                driver.feed(data)
        elif kind == "resize" and isinstance(data, dict):
            try:
                self.size = (int(data["width"]), int(data["height"]))
            except (KeyError, TypeError, ValueError):
                return
            if driver is not None:
                driver.resize(*self.size)
        elif kind in ("focus", "blur"):
            self.focused = kind == "focus"
            if driver is not None:
                driver.set_focus(self.focused)
        elif kind == "ping":
            await self.websocket.send_json(["pong", data])

    def close(self) -> None:
        """End the session: the app on screen exits, the page's websocket closes."""
        if self.gone.is_set():
            return
        self.gone.set()
        self._out.clear()
        if self.driver is not None:
            self.driver.leave()
        self._writer.cancel()
        self._closing = asyncio.get_running_loop().create_task(self.websocket.close(), name="browser-close")
