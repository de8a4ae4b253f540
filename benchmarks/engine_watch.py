"""What ``benchmarks/engine.py`` watches for beside its figures, and the fault it can inflict: a background
task that died, what the AMI link and the PBX did (from the engine's own log lines), and loop stalls placed
right after a Ping, so that runs before and after a change meet the same stalls."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter

import numpy as np

from ami.connection import Session
from ami.wire import Message


class Stalls:
    """Block the engine's event loop for ``stall_s`` right after a Ping goes out, at most once every
    ``every_s``: what a host that gives the process no core for that long does to it at the worst moment
    for the keep-alive (on a loaded 2-core machine it happens unasked; this makes it happen on time, so
    runs before and after a change meet the same stalls)."""

    def __init__(self, stall_s: float, every_s: float) -> None:
        self.stall_s, self.every_s = stall_s, every_s
        self.count = 0
        self.armed = False
        self._last = -every_s

    def attach(self) -> None:
        request = Session.request
        stalls = self

        async def stalling_request(session: Session, action: Message, **kwargs: bool) -> object:
            loop = asyncio.get_running_loop()
            if stalls.armed and action.get("Action") == "Ping" and loop.time() - stalls._last >= stalls.every_s:
                stalls._last = loop.time()
                stalls.count += 1
                loop.call_soon(time.sleep, stalls.stall_s)     # after the Ping is written
            return await request(session, action, **kwargs)

        Session.request = stalling_request  # type: ignore[assignment,method-assign]


class TaskDeaths(logging.Handler):
    """Every ERROR of a background task that failed (``dialer/tasks.py`` logs each): the run fails on one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "background task" in record.getMessage():
            self.failures.append(record.getMessage())


class LinkEvents(logging.Handler):
    """What the AMI link and the PBX did during the run, from the engine's own log lines: the link's drops
    (and why), the Originates the PBX refused (and with what text), the calls reconciled as gone while the
    link was down, and the campaigns paused for refusals."""

    LOGGERS = ("ami.client", "dialer.dialing", "dialer.recovery", "dialer.refusals")

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.drops = 0
        self.drop_reasons: list[str] = []
        self.refused = 0
        self.refusal_texts: Counter[str] = Counter()
        self.unobserved = 0
        self.pauses: list[str] = []

    def attach(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.INFO)
            logger.addHandler(self)
            logger.propagate = False    # these lines are counted, not printed (errors still are, below)
        self.printer = logging.StreamHandler()
        self.printer.setLevel(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.name == "ami.client" and " lost: " in text:
            self.drops += 1
            self.drop_reasons.append(text.split(" lost: ", 1)[1])
        elif "Originate refused: " in text:
            self.refused += 1
            self.refusal_texts[text.split("Originate refused: ", 1)[1]] += 1
        elif "gone while unobserved" in text:
            self.unobserved += 1
        elif record.name == "dialer.refusals":
            self.pauses.append(text)
        if record.levelno >= logging.ERROR:
            self.printer.handle(record)


class SlowCallbacks:
    """Which loop callbacks hold the engine's event loop longer than ``threshold_s``: each callback of the
    loop is timed (wall and this thread's CPU time); a task's step is named by its coroutine and the line it
    stopped at. CPU time tells the engine's own cost from the time the host gave the process no core."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self.armed = False
        self.wall_s: Counter[str] = Counter()
        self.cpu_s: Counter[str] = Counter()
        self.count: Counter[str] = Counter()
        self.worst_cpu_s: dict[str, float] = {}
        self.callbacks = 0
        self.over = 0

    def attach(self) -> None:
        run = asyncio.Handle._run
        watch = self

        def timed_run(handle: asyncio.Handle) -> None:
            if not watch.armed:
                return run(handle)
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return run(handle)
            finally:
                cpu = time.thread_time() - cpu
                wall = time.perf_counter() - wall
                watch.callbacks += 1
                if cpu >= watch.threshold_s:
                    watch.over += 1
                    name = _callback_name(handle)
                    watch.wall_s[name] += wall
                    watch.cpu_s[name] += cpu
                    watch.count[name] += 1
                    watch.worst_cpu_s[name] = max(cpu, watch.worst_cpu_s.get(name, 0.0))

        asyncio.Handle._run = timed_run  # type: ignore[method-assign]

    def report(self, top: int = 12) -> list[str]:
        lines = [f"{self.over} of {self.callbacks} loop callbacks took ≥ {self.threshold_s * 1000:g} ms of CPU",
                 f"{'count':>6} {'CPU s':>7} {'wall s':>7} {'worst CPU ms':>12}  callback"]
        for name, cpu in self.cpu_s.most_common(top):
            lines.append(f"{self.count[name]:>6} {cpu:>7.2f} {self.wall_s[name]:>7.2f} "
                         f"{self.worst_cpu_s[name] * 1000:>12.1f}  {name}")
        return lines


def _callback_name(handle: asyncio.Handle) -> str:
    """A task's step by its coroutines, outermost first, each with the line it stopped at."""
    callback = handle._callback  # type: ignore[attr-defined]
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        names = []
        coro = task.get_coro()
        while coro is not None and getattr(coro, "cr_frame", None) is not None:
            names.append(f"{coro.__qualname__}:{coro.cr_frame.f_lineno}")
            coro = getattr(coro, "cr_await", None)
        shown = names if len(names) <= 4 else [*names[:2], "…", *names[-2:]]
        return "task " + " > ".join(shown)
    return getattr(callback, "__qualname__", repr(callback))


class GcPauses:
    """The garbage collector's pauses (wall and CPU time), by generation: a pause stops the loop wherever it
    falls."""

    def __init__(self) -> None:
        self.armed = False
        self.pauses_s: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.collected: Counter[int] = Counter()
        self.cpu_s: Counter[int] = Counter()
        self.longest_cpu_s: Counter[int] = Counter()
        self._started = self._started_cpu = 0.0

    def attach(self) -> None:
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started, self._started_cpu = time.perf_counter(), time.thread_time()
        elif self.armed:
            generation, cpu = info["generation"], time.thread_time() - self._started_cpu
            self.pauses_s[generation].append(time.perf_counter() - self._started)
            self.collected[generation] += info["collected"]
            self.cpu_s[generation] += cpu
            self.longest_cpu_s[generation] = max(cpu, self.longest_cpu_s[generation])

    def report(self) -> list[str]:
        return [f"gc generation {generation}: {len(p)} pauses, wall {1000 * sum(p):.0f} ms in all (longest "
                f"{1000 * max(p, default=0.0):.1f}), CPU {1000 * self.cpu_s[generation]:.0f} ms (longest "
                f"{1000 * self.longest_cpu_s[generation]:.1f}), {self.collected[generation]} objects collected"
                for generation, p in self.pauses_s.items()]


class DecisionParts:
    """What a pacing decision's CPU time held beside its own work: a collection of the garbage collector
    that fell inside it, or the campaign's estimates computed again (once a second, ``Engine._estimates``).
    Tells the decision's p99 made of its arithmetic from one made of these."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, bool]] = []   # (CPU s, of which collections, estimates computed)
        self._open = False
        self._gc_cpu = self._gc_started = 0.0
        self._estimated = False

    def attach(self) -> None:
        from pacing.estimators import OnlineEstimators

        gc.callbacks.append(self._on_gc)
        estimates = OnlineEstimators.estimates
        parts = self

        def noted(estimators: OnlineEstimators, *args: object, **kwargs: object) -> object:
            parts._estimated = parts._estimated or parts._open
            return estimates(estimators, *args, **kwargs)  # type: ignore[arg-type]

        OnlineEstimators.estimates = noted  # type: ignore[assignment,method-assign]

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        elif self._open:
            self._gc_cpu += time.thread_time() - self._gc_started

    def begin(self) -> None:
        self._open, self._gc_cpu, self._estimated = True, 0.0, False

    def end(self, cpu_s: float, measuring: bool) -> None:
        if self._open and measuring:
            self.rows.append((cpu_s, self._gc_cpu, self._estimated))
        self._open = False

    def report(self) -> list[str]:
        if not self.rows:
            return []
        cpu = np.array([r[0] for r in self.rows]) * 1000
        gc_cpu = np.array([r[1] for r in self.rows]) * 1000
        estimated = np.array([r[2] for r in self.rows])
        collected = gc_cpu > 0
        plain = ~collected & ~estimated

        def p99(values: np.ndarray) -> str:
            return f"{np.percentile(values, 99):.2f}" if values.size else "-"

        return [f"decisions: {len(self.rows)}, CPU p50 {np.percentile(cpu, 50):.2f} p99 {p99(cpu)} ms; "
                f"{int(collected.sum())} held a collection ({gc_cpu.sum():.0f} ms in all), "
                f"{int(estimated.sum())} computed the estimates (CPU p50 "
                f"{np.percentile(cpu[estimated], 50) if estimated.any() else float('nan'):.2f} ms); "
                f"p99 of the other {int(plain.sum())}: {p99(cpu[plain])} ms; "
                f"p99 less the collections' time: {p99(cpu - gc_cpu)} ms"]
