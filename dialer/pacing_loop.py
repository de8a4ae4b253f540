"""The skeleton every pacing loop shares (one campaign's, or one campaign group's): wake on an event or
at least every tick, decide, repeat, and stop cleanly."""

from __future__ import annotations

import asyncio
import logging

from dialer.tasks import BackgroundTasks, Supervisor

log = logging.getLogger(__name__)


class PacingLoop:
    """Subclasses say what one decision is (``_round``) and how often to decide without events (``_timeout``)."""

    def __init__(self, name: str, tick_s: float, supervisor: Supervisor | None = None) -> None:
        self._name = name
        self._tasks = BackgroundTasks(supervisor)   # a round that raises is logged and the loop goes on
        self._tick_s = tick_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.decisions = 0

    def start(self) -> None:
        self._stopping = False
        self._task = self._tasks.keep(self._run, self._name)
        self.wake()   # decide at once: operators may have become ready before the loop existed

    @property
    def running(self) -> bool:
        return self._task is not None

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _timeout(self) -> float:
        return self._tick_s

    async def _round(self) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that arrives as the
            # event is set, and stop() would then wait forever; the flag is a second guard.
            try:
                async with asyncio.timeout(self._timeout()):
                    await self._wake.wait()
            except TimeoutError:
                pass
            if self._stopping:
                return
            self._wake.clear()
            await self._round()
