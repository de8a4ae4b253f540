"""The console's status line is looked at when its text can change, not every second: a server holds
hundreds of consoles, and each look is a timer event through a console's message queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.app import App, ComposeResult

from dialer.views.console.status_bar import STALE_S, StatusBar
from dialer.views.picture import OperatorRow
from tests.views.conftest import FixedClock

ANNA = OperatorRow(id=1, name="Anna", extension="101", state="on_call", since_s=30.0, campaigns=(1,),
                   attempt_id=7, lead_id=3, calls=2, talk_s=300.0, occupancy=0.5)


class Line(App[None]):
    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield StatusBar("Anna (ext 101)", self.clock, id="status")


def _waits(bar: StatusBar) -> list[float]:
    return [timer._interval for timer in bar._timers if timer._task is not None and not timer._task.done()]


async def test_the_status_line_waits_for_the_next_minute_or_the_engines_silence() -> None:
    clock = FixedClock()
    app = Line(clock)
    async with app.run_test() as pilot:
        bar = app.query_one(StatusBar)
        bar.received_at = asyncio.get_running_loop().time()
        bar.me = ANNA                              # 30 s into the call: the minute turns in 30 s
        await pilot.pause()
        assert [round(w) for w in _waits(bar)] == [30]
        bar.floor_at = clock.now()                 # and the engine would be silent too long in STALE_S
        await pilot.pause()
        assert [round(w) for w in _waits(bar)] == [round(STALE_S)]
        bar.floor_at = clock.now() - timedelta(seconds=STALE_S + 2)   # silent: its count moves each second
        await pilot.pause()
        assert [round(w) for w in _waits(bar)] == [1]
        assert "no news from the engine for 12 s" in bar.line()
