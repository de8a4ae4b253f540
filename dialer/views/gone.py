"""Engines gone from the store: their picture is late and their name is free.

An engine writes its picture every second and holds its name (``dialer/store/engines.py``) for as long as
its session with the store lives. A picture a couple of seconds late could be a busy moment; the name says
at once whether the session is gone — the engine killed, crashed or cut off from the store — where the
picture's age alone says so only after a threshold long enough not to cry wolf."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from dialer.recorder import STORE_UNREACHABLE
from dialer.store import engines
from dialer.views.picture import FloorPicture

LATE_S = 2.0   # a picture this late makes the views ask whether its engine still has a session


async def gone_engines(db: asyncpg.Pool, floor: FloorPicture, now: datetime) -> frozenset[str] | None:
    """The engines of ``floor`` whose picture is late and whose session with the store is gone; None when
    the store cannot be asked (nothing is said then)."""
    late = [engine for engine, at in floor.engines_at
            if (now - at).total_seconds() > LATE_S and engine not in floor.engines_stopped]
    if not late:
        return frozenset()
    try:
        return frozenset(late) - await engines.names_held(db, late)
    except STORE_UNREACHABLE:
        return None
