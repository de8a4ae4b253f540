"""A Textual driver that draws into a browser's websocket (``browser.py``) from inside the server's
process, instead of a process per session that textual-serve talks to over pipes.

Many apps then share one process and one event loop, one per browser session, each in its own asyncio
task. Textual keeps the app in charge in context variables (``active_app``, ``active_message_pump``),
which each task has its own copy of, so the apps do not see each other. Two things of Textual's are
process-wide and are set aside here: the signal handlers a terminal driver installs (none are), and the
``print`` capture an app installs over ``sys.stdout``/``sys.stderr`` while it runs, which apps ending
in any order would leave pointing at one of them; each app's capture is the process's own stream instead.
And one cache: Textual's key parser keeps the key events of each typed sequence in a cache of its class,
keyed by the parser (``KeyParser``).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from textual import events, messages
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.driver import Driver
from textual.geometry import Size

from dialer.web.browser import Browser

ESCAPE_WAIT_S = 0.1   # a lone ESC is a key once nothing follows it this long (as textual's web driver waits)


def driver_for(browser: Browser) -> type[Driver]:
    """The driver class for one app of this browser's session (Textual makes the instance)."""
    return type("BrowserDriver", (BrowserDriver,), {"browser": browser})


class KeyParser(XTermParser):
    """Textual's parser without its cache of key events, which is one for the whole process (an
    ``lru_cache`` on a method) and keyed by the parser and the typed text: in a worker it kept every
    session's parser, its last key event and, through the event's sender, the app — a login screen
    with its password field — long after the session ended, kept what was typed as keys, and could hand
    one session's key events to another session's parser."""

    def _parse_extended_key(self, sequence: str) -> list[events.Key] | None:
        return XTermParser._parse_extended_key.__wrapped__(self, sequence)   # type: ignore[attr-defined]


class BrowserDriver(Driver):
    browser: Browser

    def __init__(self, app: App[Any], *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=self.browser.size)
        self._parser = KeyParser(debug=debug)
        self._tick: asyncio.TimerHandle | None = None
        app._capture_stdout = sys.__stdout__   # type: ignore[assignment]  (see the module's docstring)
        app._capture_stderr = sys.__stderr__   # type: ignore[assignment]

    @property
    def is_web(self) -> bool:
        return True

    def write(self, data: str) -> None:
        self.browser.write(data.encode("utf-8"))

    def flush(self) -> None:
        pass

    def send_message(self, message: messages.Message) -> None:
        self._app.post_message(message)    # the app runs on this thread: no hop through the loop

    def start_application_mode(self) -> None:
        browser = self.browser
        browser.driver = self
        self.write("\x1b[?1049h\x1b[2J\x1b[H")         # alternate screen, cleared of the app before
        self.write("\x1b[?1000h\x1b[?1003h\x1b[?1015h\x1b[?1006h")   # mouse, as xterm.js reports it
        self.write("\x1b[?25l\x1b[?2004h")              # no cursor; bracketed paste
        size = Size(*browser.size)
        self.send_message(events.Resize(size, size))
        self._app.call_later(self._app.post_message, events.AppFocus() if browser.focused else events.AppBlur())
        if browser.gone.is_set():
            self.leave()          # the page closed while the app started

    def disable_input(self) -> None:
        pass

    def stop_application_mode(self) -> None:
        if self.browser.driver is self:
            self.browser.driver = None
        if self._tick is not None:
            self._tick.cancel()

    # ---- from the page (browser.py) ----------------------------------------------------------

    def feed(self, keys: str) -> None:
        for event in self._parser.feed(keys):
            self.process_message(event)
        if self._tick is None:
            self._tick = self._loop.call_later(ESCAPE_WAIT_S, self._tick_parser)

    def _tick_parser(self) -> None:
        self._tick = None
        for event in self._parser.tick():
            self.process_message(event)

    def resize(self, width: int, height: int) -> None:
        self._size = (width, height)
        size = Size(width, height)
        self.send_message(events.Resize(size, size))

    def set_focus(self, focused: bool) -> None:
        self.send_message(events.AppFocus() if focused else events.AppBlur())

    def leave(self) -> None:
        """The page is gone: the app exits (the session then logs the person out)."""
        self.send_message(messages.ExitApp())
