"""One engine's life inside the test's process, and its death without the stop path.

A real ``kill -9`` takes the process's tasks, timers and sockets with it, and runs no ``finally``. The
day runs on one virtual-time loop, so the engine cannot be a process of its own; instead every task and
timer an engine life creates is marked with that life's number (a context variable, which asyncio copies
into every task and timer callback made from it), and ``kill`` cuts them all at once: the store
connections are terminated (their server sessions end, as a dead process's do), the AMI socket is
closed, and every task and pending timer of that life is cancelled.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from ami.client import AmiClient
from dialer.clock import LoopClock
from dialer.config import EngineConfig
from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.sim.operators import SimulatedOperators
from dialer.sim.virtual_time import FreezingConnection
from lists import database

LIFE: contextvars.ContextVar[int | None] = contextvars.ContextVar("engine_life", default=None)
AMI_USER, AMI_SECRET = "dialer", "floor-secret"


class LifeTracker:
    """Remembers which tasks and timers each engine life made (installed on the day's loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.tasks: dict[int, set[asyncio.Task[Any]]] = {}
        self.timers: dict[int, set[asyncio.TimerHandle]] = {}
        self._loop = loop
        self._call_at = loop.call_at
        loop.set_task_factory(self._task)
        loop.call_at = self._timer  # type: ignore[method-assign]

    def _task(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
              **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        context = kwargs.get("context")
        life = context.get(LIFE) if context is not None else LIFE.get()
        if life is not None:
            self.tasks.setdefault(life, set()).add(task)
            task.add_done_callback(self.tasks[life].discard)
        return task

    def _timer(self, when: float, callback: Callable[..., Any], *args: Any,
               context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        handle = self._call_at(when, callback, *args, context=context)
        life = (context or contextvars.copy_context()).get(LIFE)
        if life is not None:
            timers = self.timers.setdefault(life, set())
            timers.add(handle)
            if len(timers) > 4096:    # forget the ones that fired or were cancelled
                timers.difference_update({h for h in timers if h.cancelled() or h.when() < self._loop.time()})
        return handle

    def cut(self, life: int) -> int:
        """Cancel every task and pending timer of one life; returns how many tasks were cut."""
        for handle in self.timers.pop(life, set()):
            handle.cancel()
        tasks = self.tasks.pop(life, set())
        for task in tasks:
            task.cancel()
        return len(tasks)


class EngineLife:
    """An engine, its control plane and its simulated operators, on a pool and an AMI link of its own."""

    def __init__(self, number: int, url: str, schema: str, ami_port: int, clock: LoopClock,
                 config: EngineConfig) -> None:
        self.number = number
        self._url, self._schema, self._port = url, schema, ami_port
        self.clock = clock
        self.config = config
        self.db: asyncpg.Pool | None = None
        self.pbx: AmiClient | None = None
        self.engine: Engine | None = None
        self.control: ControlPlane | None = None
        self.started_at: float | None = None     # loop time the engine's start() returned
        self.ended_at: float | None = None       # loop time it stopped or died
        self.killed = False

    async def start(self) -> None:
        """Open the store and the AMI link, start the engine (its recovery first) and its control plane.
        Runs inside the life's own context, so everything it spawns is this life's."""
        context = contextvars.copy_context()
        context.run(LIFE.set, self.number)
        await asyncio.get_running_loop().create_task(self._start(), context=context)

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        freeze = loop.dialer_freeze  # type: ignore[attr-defined]
        freeze.holds += 1      # connecting takes real time: the virtual clock waits (dialer/sim/virtual_time.py)
        try:
            self.db = await database.open_db(self._url, search_path=self._schema, min_size=5, max_size=5,
                                                 connection_class=FreezingConnection, durable=False)
        finally:
            freeze.holds -= 1
        self.pbx = AmiClient("127.0.0.1", self._port, AMI_USER, AMI_SECRET, ping_interval=5.0, ping_timeout=2.0,
                             reconnect_backoff=(0.2, 2.0))
        await self.pbx.start()
        self.engine = Engine(self.db, self.pbx, self.clock, self.config)
        SimulatedOperators(self.engine, mean_wrap_s=8.0, seed=self.number)
        await self.engine.start()
        self.control = ControlPlane(self.engine, picture_s=1.0, poll_s=5.0)
        await self.control.start()
        self.started_at = loop.time()

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    async def stop(self, drain_s: float) -> None:
        """The stop path: no new calls, live calls finish, phones hung up, writes flushed."""
        assert self.engine is not None and self.control is not None and self.pbx is not None
        await self.engine.stop(drain_s=drain_s)
        await self.control.close()
        self.ended_at = asyncio.get_running_loop().time()
        await self.pbx.close()
        assert self.db is not None
        await self.db.close()

    def kill(self, tracker: LifeTracker) -> None:
        """Death without the stop path: sockets cut, tasks and timers gone, nothing flushed."""
        self.killed = True
        self.ended_at = asyncio.get_running_loop().time()
        if self.db is not None:
            self.db.terminate()
        session = getattr(self.pbx, "_session", None)
        if session is not None:
            session.close()
        tracker.cut(self.number)
        logging.getLogger(__name__).warning("engine life %d killed", self.number)
