"""Where the engine reads wall time.

Durations and timers come from the event loop (``loop.time()``); wall time — for calling hours, for
the rows the law reads — comes from a clock object. ``LoopClock`` derives wall time from loop time,
so when the loop runs in virtual time (the demo, the tests) the whole engine lives a working day in
seconds and every stored timestamp is the simulated one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime (UTC)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class LoopClock:
    """Wall time = a chosen start + loop time elapsed since the clock was made."""

    def __init__(self, start: datetime, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("LoopClock needs an aware start time")
        self._loop = loop or asyncio.get_running_loop()
        self._start = start.astimezone(UTC)
        self._t0 = self._loop.time()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._loop.time() - self._t0)
