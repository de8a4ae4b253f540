"""People at the operator console (``dialer operator``), driven through Textual's pilot.

Each one logs in from the console, waits for calls, and when a call ends sets a disposition from the
catalogue the console shows, after a few seconds of after-call work. What the console said along the way
(its message line) is kept, so a test can show what the person saw.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import textual.screen
from textual.pilot import Pilot
from textual.widgets import Select, Static

from dialer.clock import Clock
from dialer.views.operator_console import OperatorConsole, find_operator

SIZE = (120, 40)
WRAP_UP_S = 6.0          # the person's after-call work before pressing Save
LOOK_S = 1.0             # how often the person looks at the screen
# Frames per real second of a console's screen. A virtual day runs many snapshots per real second, and a
# headless console redrawn 60 times a second would cost most of the test's time.
FRAME_S = 0.25


@contextlib.contextmanager
def few_frames() -> Iterator[None]:
    """Textual reads its frame period when a screen starts its update timer; set it for the consoles."""
    before = textual.screen.UPDATE_PERIOD
    textual.screen.UPDATE_PERIOD = FRAME_S  # type: ignore[misc]
    try:
        yield
    finally:
        textual.screen.UPDATE_PERIOD = before  # type: ignore[misc]


@dataclass
class ConsoleOperator:
    name: str
    preferred: tuple[str, ...]     # codes this person uses, the first the console offers wins
    saved: list[tuple[int, str]] = field(default_factory=list)     # (attempt, code) sent
    messages: list[str] = field(default_factory=list)              # the console's message line, as it changed
    app: OperatorConsole | None = None
    on_wrap_up: asyncio.Event = field(default_factory=asyncio.Event)   # set while a call waits for its code
    hold: bool = False             # the person waits before saving (a test changes something meanwhile)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _message: Static | None = None

    async def work(self, db: asyncpg.Pool, clock: Clock) -> None:
        app = self.app = OperatorConsole(db, await find_operator(db, self.name), clock)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#login")
            while not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LOOK_S):
                        await self._stop.wait()
                self._note(app)
                if self._call_to_dispose(app):
                    self.on_wrap_up.set()
                    await asyncio.sleep(WRAP_UP_S)
                    while self.hold and not self._stop.is_set():
                        await asyncio.sleep(LOOK_S)
                    if self._call_to_dispose(app):
                        await self._dispose(app, pilot)
                else:
                    self.on_wrap_up.clear()
            await pilot.click("#logout")
            await pilot.pause(0.5)
            self._note(app)

    def stop(self) -> None:
        self._stop.set()

    @property
    def state(self) -> str | None:
        me = self.app.me if self.app is not None else None
        return me.state if me is not None else None

    def _note(self, app: OperatorConsole) -> None:
        with contextlib.suppress(Exception):
            if self._message is None:      # looked up once: a DOM query each look costs more than the look
                self._message = app.query_one("#message", Static)
            text = str(self._message.content)
            if text and (not self.messages or self.messages[-1] != text):
                self.messages.append(text)

    @staticmethod
    def _call_to_dispose(app: OperatorConsole) -> bool:
        me, call = app.me, app.call
        return (call is not None and me is not None and me.state == "wrap_up"
                and me.attempt_id == call.attempt_id and call.attempt_id not in app._disposed)

    async def _dispose(self, app: OperatorConsole, pilot: Pilot[None]) -> None:
        assert app.call is not None
        offered = {d.code for d in app.call.catalogue}
        tried = {c for a, c in self.saved if a == app.call.attempt_id}   # a refused code comes back on screen
        code = next((c for c in self.preferred if c in offered and c not in tried), None)
        if code is None:
            self.messages.append(f"none of {self.preferred} offered: {sorted(offered)}")
            return
        app.query_one("#disposition", Select).value = code
        await pilot.pause()
        attempt_id = app.call.attempt_id
        await pilot.click("#save")
        await pilot.pause()
        self._note(app)
        self.saved.append((attempt_id, code))
