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
* the young and middle generations are still collected by Python as objects are made (each collection
  walks only what was made lately and is still alive: well under a millisecond) — that is where the rare
  cycle (a caught exception and its frames) dies;
* Python never starts a full collection of its own; a supervised task runs one only once the process has
  grown by ``full_growth_bytes`` since the last (what a cycle that reached the old generation would
  leak), at the first moment no call is in flight — or at once when it has grown twice that, so that
  memory stays bounded on a floor that is never idle;
* the growth is counted from the floor filled, not from start-up: while the calls in flight reach a new
  high, what the process holds more is theirs (their channels, events and tasks, freed by reference
  counts), so the baseline follows it. Counted from start-up, a large floor's own filling met the
  allowance and a full collection of a second stopped the loop, finding nothing. The high is bounded by
  the floor's lines, so memory stays bounded.
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

CHECK_EVERY_S = 1.0            # loop time between two looks at the process's growth
FULL_GROWTH_BYTES = 128 << 20  # growth since the last full collection that makes the next one due
NEVER = 1 << 30                # a threshold of the oldest generation that Python's counts never reach


def resident_bytes() -> int:
    """The process's resident memory now (Linux), else the largest it has been."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Collector:
    """Runs a full collection when ``step`` finds one due (``run`` looks every ``CHECK_EVERY_S``);
    ``in_flight()`` counts the calls in flight: none is when a collection costs no one a late hand-off,
    and a new high of them is the floor filling (the baseline follows)."""

    def __init__(self, *, in_flight: Callable[[], int], full_growth_bytes: int = FULL_GROWTH_BYTES,
                 rss: Callable[[], int] = resident_bytes, collect: Callable[[int], int] = gc.collect) -> None:
        self._in_flight = in_flight
        self._growth = full_growth_bytes
        self._rss = rss
        self._collect = collect
        self.baseline = rss()          # resident memory after the last full collection, or the floor's filling
        self.most_in_flight: int | None = None   # the most calls in flight seen at a step (None: no step yet)
        self.full = 0                  # full collections run
        self.full_cpu_s = 0.0

    def step(self) -> bool:
        """A full collection if one is due; whether it ran."""
        now, in_flight = self._rss(), self._in_flight()
        if self.most_in_flight is None:            # the first look: the floor as the engine started it
            self.most_in_flight = in_flight
        elif in_flight > self.most_in_flight:      # the floor is filling: what it holds more is its calls'
            self.most_in_flight = in_flight
            self.baseline = max(self.baseline, now)
            return False
        grown = now - self.baseline
        if grown < self._growth or (grown < 2 * self._growth and in_flight):
            return False
        began = time.process_time()
        freed = self._collect(2)
        spent = time.process_time() - began
        self.full += 1
        self.full_cpu_s += spent
        self.baseline = self._rss()
        log.info("full garbage collection: %d object(s) freed in %.0f ms of CPU; the process had grown %.0f MB "
                 "since the last one", freed, 1e3 * spent, grown / 2**20)
        return True

    async def run(self, every_s: float = CHECK_EVERY_S) -> None:
        """Python's own full collections off while this runs; back once it stops."""
        young, middle, oldest = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        try:
            while True:
                await asyncio.sleep(every_s)
                self.step()
        finally:
            gc.set_threshold(young, middle, oldest)


def settle(tasks: BackgroundTasks, *, in_flight: Callable[[], int]) -> Collector:
    """Call once the engine has started: freeze what exists, and leave full collections to a ``Collector``
    (a task of ``tasks``, restarted if it fails)."""
    gc.collect()       # what is garbage already is freed, not frozen for the life of the process
    gc.freeze()
    collector = Collector(in_flight=in_flight)
    tasks.keep(collector.run, "garbage-collector")
    return collector
