"""Python's cyclic garbage collector in a ``dialer serve`` worker, which holds hundreds of consoles.

Textual's widgets hold cycles (a widget and its parent, its styles, its message queue), so a console's
screen is hundreds of thousands of objects that live for hours, and every drawn card leaves cyclic
garbage that only the collector frees. Left to Python's defaults, the oldest generation fills with both;
each full collection then walks every console's widgets and stops every session of the worker for
seconds (a card arriving meanwhile waits), while finding that nearly all of it is alive.

So a worker splits the work in two:

* **tidy**, every ``TIDY_S``: a collection of everything *not frozen* (what was made since the last
  tidy; its cost follows that, not the number of consoles), then ``gc.freeze()``: what survived moves
  out of every later walk. Python's own full collections are switched off; the young generations are
  collected as before, and are where most of a card's garbage dies.
* **reclaim**: a frozen object that later becomes cyclic garbage (the widgets of a closed session, a
  card replaced) is not freed until it is unfrozen. ``gc.unfreeze()`` and a full collection (the long
  walk: seconds for a hundred consoles) run when as many sessions have ended since the last reclaim as
  are open now (at most about half of what is frozen is a closed session's then), when the last session
  ends (nothing left to stop), and, at most once every ``RECLAIM_GAP_S``, when the frozen objects have
  grown to ``GROWTH`` times what the last reclaim found alive (the garbage a long day of calls leaves
  inside sessions that stay open). Growth alone is no sign of garbage (a console on a call holds more
  than one waiting for it, and people log in all morning), so it is not allowed to call the long walk
  often. Memory stays within a bounded multiple of what is alive over any number of sessions opening and
  closing, and of calls.

``Pauses`` records every collection's pause by generation (``gc.callbacks``); a worker writes its
summary to its log when it stops, every reclaim, and every pause over ``LONG_PAUSE_S`` as it happens.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter

log = logging.getLogger(__name__)

TIDY_S = 1.0                 # between two tidies: the young objects a tidy walks are this old at most
GROWTH = 2.0                 # frozen objects, as a multiple of the last reclaim's live ones, that call a reclaim
RECLAIM_GAP_S = 1800.0       # growth calls a reclaim at most this often
NEVER = 1 << 30              # a collection threshold never reached: no automatic full collection
SETTLE_S = 1.0               # after the last session ends, its apps' last callbacks run before the reclaim
LONG_PAUSE_S = 0.5           # a pause this long is logged when it happens


class Pauses:
    """Every collection's pause by generation: wall seconds (what a card waits) and the worker's own CPU
    seconds (what the walk cost: on a crowded machine the wall time also holds the time the worker was
    not running), and what it freed."""

    def __init__(self, log_from_s: float = LONG_PAUSE_S) -> None:
        self.log_from_s = log_from_s        # a pause this long is logged as it happens
        self.wall: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.cpu: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.reclaims: list[float] = []     # the full walks (wall), also counted in generation 2
        self.collected: Counter[int] = Counter()
        self._started = self._started_cpu = 0.0

    def attach(self) -> None:
        gc.callbacks.append(self._on_gc)

    def detach(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started, self._started_cpu = time.perf_counter(), time.thread_time()
            return
        took, cpu = time.perf_counter() - self._started, time.thread_time() - self._started_cpu
        generation = info["generation"]
        self.wall[generation].append(took)
        self.cpu[generation].append(cpu)
        self.collected[generation] += info["collected"]
        if took >= self.log_from_s:
            log.info("garbage collection of generation %d stopped the sessions for %.0f ms (%.0f ms of CPU, "
                     "%d freed) at %.6f", generation, took * 1000, cpu * 1000, info["collected"], time.time() - took)

    def summary(self) -> str:
        parts = [f"generation {g}: {len(self.wall[g])} pauses, wall p99 {_p99(self.wall[g]) * 1000:.1f} ms "
                 f"longest {max(self.wall[g], default=0) * 1000:.1f}, CPU p99 {_p99(self.cpu[g]) * 1000:.1f} ms "
                 f"longest {max(self.cpu[g], default=0) * 1000:.1f}, {self.collected[g]} freed" for g in self.wall]
        reclaims = ", ".join(f"{took * 1000:.0f}" for took in self.reclaims)
        return "; ".join(parts) + f"; reclaims (ms): {reclaims or 'none'}"


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


class SessionCollector:
    """The collector policy of one worker (see the module's docstring). ``start`` once the worker has
    imported everything, ``opened``/``closed`` per session, ``stop`` when the worker stops."""

    def __init__(self, *, tidy_s: float = TIDY_S, growth: float = GROWTH, reclaim_gap_s: float = RECLAIM_GAP_S) -> None:
        self.tidy_s = tidy_s
        self.growth = growth
        self.reclaim_gap_s = reclaim_gap_s
        self.pauses = Pauses()
        self.open_sessions = 0
        self.ended_since_reclaim = 0
        self.alive_after_reclaim = 0     # frozen objects right after the last reclaim: all of them alive
        self.reclaimed_at = 0.0          # loop time of the last reclaim
        self._thresholds: tuple[int, int, int] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, middle, NEVER)
        self.pauses.attach()
        self.reclaim()
        self._schedule()

    def stop(self) -> None:
        """No more tidies, Python's thresholds back. What is frozen stays frozen: the worker is ending, and
        one walk of it all would only delay that (``gc.unfreeze()`` gives it back, in tests)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.pauses.detach()
        log.info("garbage collection pauses: %s", self.pauses.summary())
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def opened(self) -> None:
        self.open_sessions += 1

    def closed(self) -> None:
        """A session ended: its widgets are garbage now, most of them frozen."""
        self.open_sessions -= 1
        self.ended_since_reclaim += 1
        if self.open_sessions == 0:
            self._schedule(SETTLE_S)    # nobody to stop: reclaim soon (tidy decides)

    def reclaim_due(self) -> bool:
        if self.ended_since_reclaim > 0 and self.ended_since_reclaim >= self.open_sessions:
            return True
        return (asyncio.get_running_loop().time() - self.reclaimed_at >= self.reclaim_gap_s
                and gc.get_freeze_count() > self.growth * self.alive_after_reclaim)

    def tidy(self) -> None:
        """Collect what is not frozen, freeze what survived; reclaim when due."""
        if self.reclaim_due():
            self.reclaim()
            return
        gc.collect()
        gc.freeze()

    def reclaim(self) -> None:
        """Unfreeze everything and collect it all: frees what died while frozen (the long walk)."""
        started = time.perf_counter()
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        took = time.perf_counter() - started
        self.pauses.reclaims.append(took)
        log.info("reclaim in %.0f ms: %d objects frozen before, %d alive, %d sessions open",
                 took * 1000, frozen, gc.get_freeze_count(), self.open_sessions)
        self.alive_after_reclaim = gc.get_freeze_count()
        self.reclaimed_at = asyncio.get_running_loop().time()
        self.ended_since_reclaim = 0

    def _schedule(self, delay_s: float | None = None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.tidy_s if delay_s is None else delay_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        try:
            self.tidy()
        except Exception:   # a finalizer's error: logged, and the next tidy runs as planned
            log.exception("a tidy of the garbage collector failed")
        self._schedule()
