"""Python's cyclic garbage collector in a running engine: collections at moments the engine chooses.

A full collection walks every object the process holds and stops the one event loop while it does. With
25,000 calls in flight that is hundreds of thousands of objects and half a second of CPU, longer than any
callback of the engine's, and the PBX events that arrive meanwhile queue behind it: every hand-off of
that moment is late. Python starts one whenever enough objects have survived the younger generations,
whatever the floor is doing. And on a floor it finds next to nothing: calls, operators, messages and
tasks are freed by their reference counts (``benchmarks/engine.py --slow-callbacks`` counts what each
collection freed). So, once the engine has started (``dialer run``, ``settle``):

* what start-up made (the modules, the floor's operators, the campaigns' settings) is frozen out of every
  collection: it lives as long as the process, and walking it again each time finds nothing;
* automatic collection is off; a supervised task collects the young generation every second (it holds
  only what was made since and is still alive: milliseconds at most), the middle one every tenth time —
  that is where the rare cycle (a caught exception and its frames) dies;
* a full collection runs only once the process has grown by ``full_growth_bytes`` since the last one
  (what a cycle that reached the old generation would leak), and then at the first moment no call is in
  flight — or at once when it has grown twice that, so that memory stays bounded on a floor never idle.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import time
from collections.abc import Callable

from dialer.tasks import BackgroundTasks

log = logging.getLogger(__name__)

YOUNG_EVERY_S = 1.0            # loop time between two collections of the young generation
MIDDLE_EVERY = 10              # … of which every this-many-th collects the middle generation too
FULL_GROWTH_BYTES = 128 << 20  # growth since the last full collection that makes the next one due


def resident_bytes() -> int:
    """The process's resident memory now (Linux), else the largest it has been."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Collector:
    """Collects when ``step`` is called (every ``YOUNG_EVERY_S`` by ``run``); ``quiet()`` says the floor
    is idle (no call in flight), when a due full collection costs no one a late hand-off."""

    def __init__(self, *, quiet: Callable[[], bool], full_growth_bytes: int = FULL_GROWTH_BYTES,
                 middle_every: int = MIDDLE_EVERY, rss: Callable[[], int] = resident_bytes,
                 collect: Callable[[int], int] = gc.collect) -> None:
        self._quiet = quiet
        self._growth = full_growth_bytes
        self._middle_every = middle_every
        self._rss = rss
        self._collect = collect
        self._steps = 0
        self.baseline = rss()          # resident memory after the last full collection (or at start)
        self.full = 0                  # full collections run
        self.full_cpu_s = 0.0

    def step(self) -> int:
        """One collection: the young generation, the middle one every ``middle_every``-th time, or all three
        when a full one is due; returns the generation collected."""
        self._steps += 1
        grown = self._rss() - self.baseline
        if grown >= 2 * self._growth or (grown >= self._growth and self._quiet()):
            began = time.process_time()
            freed = self._collect(2)
            self.full += 1
            self.full_cpu_s += time.process_time() - began
            self.baseline = self._rss()
            log.info("full garbage collection: %d object(s) freed in %.0f ms of CPU; the process had grown "
                     "%.0f MB since the last one", freed, 1e3 * (time.process_time() - began), grown / 2**20)
            return 2
        generation = 1 if self._steps % self._middle_every == 0 else 0
        self._collect(generation)
        return generation

    async def run(self, every_s: float = YOUNG_EVERY_S) -> None:
        """Collect every ``every_s`` of loop time; automatic collection is back once this stops."""
        gc.disable()
        try:
            while True:
                await asyncio.sleep(every_s)
                self.step()
        finally:
            gc.enable()


def settle(tasks: BackgroundTasks, *, quiet: Callable[[], bool]) -> Collector:
    """Call once the engine has started: freeze what exists, and collect from now on at the moments the
    ``Collector`` chooses (a task of ``tasks``, restarted if it fails)."""
    gc.freeze()
    collector = Collector(quiet=quiet)
    tasks.keep(collector.run, "garbage-collector")
    return collector
