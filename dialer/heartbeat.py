"""The engine's heartbeat: proof of life in the store, and the leases of its claimed leads kept alive.

An engine that stops beating loses its claims (``lists.leads.expire_leases``, run by every live engine's
beat): its leads go back to the list rather than stay claimed by nobody.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import partial

import asyncpg

from dialer.clock import Clock
from dialer.config import EngineConfig
from dialer.recorder import Recorder
from dialer.store import engines
from lists import leads

log = logging.getLogger(__name__)


async def beat_forever(recorder: Recorder, clock: Clock, config: EngineConfig) -> None:
    """Every ``heartbeat_s``, queue one beat behind the recorder's other writes."""
    while True:
        await asyncio.sleep(config.heartbeat_s)
        now = clock.now()
        recorder.put("heartbeat", partial(beat, name=config.name, now=now, lease_s=config.lease_s))


async def beat(conn: asyncpg.Connection, *, name: str, now: datetime, lease_s: float) -> None:
    await engines.beat(conn, name=name, now=now)
    await leads.extend_leases(conn, engine=name, now=now, lease_s=lease_s)
    expired = await leads.expire_leases(conn, now=now)   # claims of engines that stopped heart-beating
    if expired:
        log.warning("%d lead(s) claimed by a silent engine went back to the list", expired)
