"""Where a card's time goes inside a ``dialer serve`` worker, for ``benchmarks/serve.py``: switched on by
``DIALER_SERVE_TRACE=1`` in the worker's environment, it writes to the worker's log one line per card
(the operator's news handed to the console → the card's reads done → the screen refreshed with it → its
bytes written to the page's websocket) and one line per stall of the worker's event loop (a moment when
nothing ran for a while: a garbage collection, or one long callback). Wall-clock times, so the benchmark
lays them beside the engine's, the store's and the client's."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from dialer.views.console.call import CardStages
from dialer.web.browser import Browser

log = logging.getLogger(__name__)

ENABLED = os.environ.get("DIALER_SERVE_TRACE") == "1"
STALL_S = 0.03        # a loop late by this much is a stall worth a line
LOOK_EVERY_S = 0.01


class CardTrace(CardStages):
    """One console's cards (``OperatorConsole.card_trace``): the console calls it at each stage."""

    def __init__(self, browser: Browser, operator: str) -> None:
        self._browser = browser
        self._operator = operator
        self._news_at = 0.0
        self._times: dict[int, list[float]] = {}

    def news(self) -> None:
        self._news_at = time.time()

    def reading(self, attempt_id: int) -> None:
        self._times[attempt_id] = [self._news_at, time.time()]

    def shown(self, attempt_id: int) -> None:
        if (times := self._times.get(attempt_id)) is not None:
            times.append(time.time())

    def painted(self, attempt_id: int) -> None:
        times = self._times.get(attempt_id)
        if times is None:
            return
        times.append(time.time())
        self._browser.after_sent(lambda: self._sent(attempt_id))

    def _sent(self, attempt_id: int) -> None:
        news, reading, shown, painted = self._times.pop(attempt_id)
        log.info("card %s %d: news %.6f reading %.6f shown %.6f painted %.6f sent %.6f",
                 self._operator, attempt_id, news, reading, shown, painted, time.time())


class LoopWatch:
    """Looks at the loop every ``LOOK_EVERY_S``; a look that comes ``STALL_S`` late is a stall. And every
    callback of the loop that runs ``STALL_S`` or more is named, with its CPU time (the rest of its wall
    time is time the host gave the worker no core)."""

    def __init__(self) -> None:
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self) -> None:
        run = asyncio.Handle._run

        def timed(handle: asyncio.Handle) -> None:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                run(handle)
            finally:
                if (took := time.perf_counter() - wall) >= STALL_S:
                    log.info("slow %.6f for %.1f ms (%.1f ms of CPU): %s", time.time() - took, took * 1000,
                             (time.thread_time() - cpu) * 1000, _named(handle))

        asyncio.Handle._run = timed  # type: ignore[method-assign]
        loop = asyncio.get_running_loop()
        self._due = loop.time() + LOOK_EVERY_S
        self._timer = loop.call_at(self._due, self._look)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _look(self) -> None:
        loop = asyncio.get_running_loop()
        late = loop.time() - self._due
        if late >= STALL_S:
            log.info("stall %.6f for %.1f ms", time.time() - late, late * 1000)
        self._due = loop.time() + LOOK_EVERY_S
        self._timer = loop.call_at(self._due, self._look)


def _named(handle: asyncio.Handle) -> str:
    """A callback's name; a task's step by the coroutine it runs and the one it awaited last."""
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if not isinstance(owner, asyncio.Task):
        return getattr(callback, "__qualname__", repr(callback))
    outer = inner = owner.get_coro()
    while getattr(inner, "cr_await", None) is not None and hasattr(inner.cr_await, "cr_frame"):
        inner = inner.cr_await
    frame = getattr(outer, "cr_frame", None)
    timer = frame.f_locals.get("self") if frame is not None else None
    called = getattr(getattr(timer, "_callback", None), "__qualname__", None)   # a Textual timer's callback
    named = f"{getattr(outer, '__qualname__', outer)} ({called})" if called else getattr(outer, "__qualname__", outer)
    return f"task {named} … {getattr(inner, '__qualname__', inner)}"
