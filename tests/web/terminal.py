"""A browser's part of a textual-serve session without the browser: the websocket, the keys typed, and
the screen as xterm.js would draw it (pyte, a terminal emulator in Python)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Callable

import aiohttp
import pyte

ENTER, TAB, F5 = "\r", "\t", "\x1b[15~"


_CONTROL = re.compile(rb"\x1b(?:\[[0-9;?<>=$ ]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])|[\x00-\x1f]")


class WebTerminal:
    """``draw=False``: keep only the text of what arrived lately, without drawing the screen (a benchmark's
    hundreds of sessions would spend their machine on the emulator); ``text()`` is then that text."""

    def __init__(self, url: str, *, width: int = 160, height: int = 48, draw: bool = True) -> None:
        self.url = f"{url.rstrip('/')}/ws?width={width}&height={height}"
        self.screen = pyte.Screen(width, height)
        self._stream = pyte.ByteStream(self.screen)
        self._draw = draw
        self._plain = b""
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.closed = False

    async def __aenter__(self) -> WebTerminal:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url)
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                if self._draw:
                    self._stream.feed(message.data)
                else:
                    self._plain = (self._plain + _CONTROL.sub(b" ", message.data))[-16384:]
                self.changed.set()
            elif message.type == aiohttp.WSMsgType.TEXT:   # textual-serve's own messages (pong, open_url …)
                json.loads(message.data)
        self.closed = True
        self.changed.set()

    def forget(self) -> None:
        """Without drawing: from now on ``text()`` holds only what arrives after this call."""
        self._plain = b""

    def text(self) -> str:
        if not self._draw:
            return self._plain.decode(errors="replace")
        return "\n".join(self.screen.display)

    async def focus(self) -> None:
        """The person clicks into the page: the browser tells the app it has the focus (an app started by
        textual-serve believes itself blurred until then, and a blur takes the focus off the inputs)."""
        assert self._ws is not None
        await self._ws.send_json(["focus"])

    async def type(self, keys: str) -> None:
        assert self._ws is not None
        await self._ws.send_json(["stdin", keys])

    async def until(self, condition: Callable[[str], bool], timeout: float = 10.0) -> str:
        """Wait until the screen satisfies ``condition``; the screen's text then."""
        async with asyncio.timeout(timeout):
            while not condition(self.text()):
                if self.closed:
                    raise ConnectionError(f"the session closed; last screen:\n{self.text()}")
                self.changed.clear()
                await self.changed.wait()
        return self.text()

    async def until_shows(self, words: str, timeout: float = 10.0) -> str:
        try:
            return await self.until(lambda text: words in text, timeout)
        except TimeoutError:
            raise AssertionError(f"{words!r} never appeared; screen:\n{self.text()}") from None


def find(screen_text: str, words: str) -> tuple[int, int]:
    """(column, row), 0-based, of the middle of ``words`` on the screen."""
    for row, line in enumerate(screen_text.splitlines()):
        column = line.find(words)
        if column >= 0:
            return column + len(words) // 2, row
    raise AssertionError(f"{words!r} is not on the screen:\n{screen_text}")


async def click(terminal: WebTerminal, words: str) -> None:
    """A mouse click on ``words``, as xterm.js reports it (SGR mouse: press, then release)."""
    column, row = find(terminal.text(), words)
    await terminal.type(f"\x1b[<0;{column + 1};{row + 1}M")
    await terminal.type(f"\x1b[<0;{column + 1};{row + 1}m")


async def until_listening(base: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    """``dialer serve`` answers HTTP (its start takes seconds on a loaded machine); fails if it stopped."""
    async with asyncio.timeout(timeout), aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(base) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                if server.poll() is not None:
                    raise RuntimeError(f"dialer serve stopped with code {server.returncode}") from None
            await asyncio.sleep(0.1)
