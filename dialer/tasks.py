"""The engine's background tasks, supervised: nothing dies silently.

Two kinds of work run in the background:

* one-shot work (``spawn``: an Originate, a reconcile after re-login). A failure is logged with its
  traceback; the call it concerned is found again by the next reconcile or recovery.
* loops that must keep running (``keep``: pacing loops, the recorder, the heartbeat, the control
  plane, the ownership beat). A failure is logged with its traceback and the loop is started again
  after a back-off that doubles up to a ceiling. A loop that fails ``give_up_after`` times within
  ``window_s`` — or, declared ``critical``, fails once — cannot run: the ``Supervisor`` records why and
  ``failed()`` returns, and ``dialer run`` stops the engine with that message and a non-zero exit. Calls
  in flight stay on the PBX; the next start recovers them (``dialer/recovery.py``).

Each component owns a ``BackgroundTasks`` (so closing it cancels only its own tasks); they share the
engine's ``Supervisor``, the one place that hears a task give up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Supervisor:
    """The restart policy and the engine-wide verdict "a task cannot run"."""

    BACKOFF = (0.5, 30.0)     # seconds before the first restart, and the ceiling of the doubling
    GIVE_UP_AFTER = 5         # failures within WINDOW_S that mean the task cannot run
    WINDOW_S = 60.0

    def __init__(self, *, backoff: tuple[float, float] | None = None, give_up_after: int | None = None,
                 window_s: float | None = None) -> None:
        self.backoff = backoff or self.BACKOFF
        self.give_up_after = give_up_after or self.GIVE_UP_AFTER
        self.window_s = window_s or self.WINDOW_S
        self.failure: str | None = None       # why the engine must stop, once a task gave up
        self.restarts = 0                     # loops started again after a failure (metrics)
        self._failed: asyncio.Event | None = None

    def tasks(self) -> BackgroundTasks:
        return BackgroundTasks(self)

    async def failed(self) -> str:
        """Returns, with the reason, when some task cannot run."""
        await self._event().wait()
        assert self.failure is not None
        return self.failure

    def give_up(self, name: str, exc: BaseException, why: str) -> None:
        log.critical("background task %s cannot run (%s): %s: %s; the engine stops", name, why,
                     type(exc).__name__, exc, exc_info=exc)
        if self.failure is None:
            self.failure = (f"background task {name} cannot run ({why}): {type(exc).__name__}: {exc}. "
                            f"Calls in flight stay on the PBX; the next start recovers them.")
        self._event().set()

    def _event(self) -> asyncio.Event:
        if self._failed is None:
            self._failed = asyncio.Event()
        return self._failed


class BackgroundTasks:
    """One component's tasks; must not be garbage-collected mid-flight nor fail silently."""

    def __init__(self, supervisor: Supervisor | None = None) -> None:
        self.supervisor = supervisor or Supervisor()
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """One-shot work: a failure is logged with its traceback."""
        return self._track(asyncio.get_running_loop().create_task(coro, name=name))

    def keep(self, work: Callable[[], Awaitable[None]], name: str, *, critical: bool = False) -> asyncio.Task[None]:
        """A loop that must keep running: ``work()`` is called again after a failure (with back-off).
        A ``critical`` one is not: its first failure stops the engine."""
        return self._track(asyncio.get_running_loop().create_task(self._keep(work, name, critical), name=name))

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def _keep(self, work: Callable[[], Awaitable[None]], name: str, critical: bool) -> None:
        supervisor = self.supervisor
        loop = asyncio.get_running_loop()
        failures: deque[float] = deque()
        delay = supervisor.backoff[0]
        while True:
            try:
                await work()
                return
            except Exception as exc:
                now = loop.time()
                while failures and failures[0] < now - supervisor.window_s:
                    failures.popleft()
                if not failures:
                    delay = supervisor.backoff[0]     # it ran well for a while: start the back-off over
                failures.append(now)
                if critical:
                    supervisor.give_up(name, exc, "a critical task failed")
                    return
                if len(failures) >= supervisor.give_up_after:
                    supervisor.give_up(name, exc, f"failed {len(failures)} times in {supervisor.window_s:g} s")
                    return
                log.error("background task %s failed; restarting it in %.1f s", name, delay, exc_info=exc)
                supervisor.restarts += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, supervisor.backoff[1])

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
