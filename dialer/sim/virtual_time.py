"""Virtual time for a whole engine: a working day in seconds, over real TCP and a real PostgreSQL.

looptime's loop jumps its clock to the next timer whenever nothing is ready. Loopback TCP between the
engine and the PBX simulator answers within the loop's idle cycles, but a database reply takes a
fraction of a millisecond of real time, and a jump in between would make every query "last" until the
next timer (DESIGN §7). So the database is treated as instantaneous: while any query is in flight the
loop waits in real time and the virtual clock stands still.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

import asyncpg
import looptime

REAL_WAIT_S = 0.002   # how long a frozen loop polls for I/O in one go


class Freeze:
    """Counts database operations in flight on one loop."""

    def __init__(self) -> None:
        self.holds = 0


def new_virtual_loop(noop_cycles: int = 8) -> asyncio.AbstractEventLoop:
    """A looptime loop (time compaction off until ``loop.looptime_enabled()``) whose clock stands still
    while a ``FreezingConnection`` waits for the database."""
    loop = asyncio.new_event_loop()
    selector: selectors.BaseSelector = loop._selector  # type: ignore[attr-defined]
    real_select = selector.select
    looptime.patch_event_loop(loop, _enabled=False, noop_cycles=noop_cycles)  # type: ignore[arg-type]
    compacting_select = selector.select
    freeze = Freeze()

    def select(timeout: float | None = None) -> list[tuple[Any, Any]]:
        if freeze.holds > 0:
            return real_select(REAL_WAIT_S if timeout is None else min(timeout, REAL_WAIT_S))
        return compacting_select(timeout)

    selector.select = select  # type: ignore[method-assign]
    loop.dialer_freeze = freeze  # type: ignore[attr-defined]
    return loop


class FreezingConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that holds the virtual clock while it talks to the server.

    On an ordinary loop it behaves exactly as asyncpg's own."""

    def get_reset_query(self) -> str:
        # The demo's connections keep no session state (no LISTEN, no advisory locks, no SET), so the
        # reset asyncpg runs at every release is a wasted round trip on the hot path.
        return ""

    async def _frozen(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        freeze: Freeze | None = getattr(asyncio.get_running_loop(), "dialer_freeze", None)
        if freeze is None:
            return await method(*args, **kwargs)
        freeze.holds += 1
        try:
            return await method(*args, **kwargs)
        finally:
            freeze.holds -= 1

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._frozen(super().execute, *args, **kwargs)

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._frozen(super().executemany, *args, **kwargs)

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._frozen(super().fetch, *args, **kwargs)

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._frozen(super().fetchrow, *args, **kwargs)

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._frozen(super().fetchval, *args, **kwargs)
