"""Simulated operators: they wrap up for a while after each call and set a disposition.

They stand in for people in the demo and the benchmarks; real operators do the same from the console.
Both kinds can work one campaign: only operators flagged ``simulated`` are driven from here.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import partial

import asyncpg
import numpy as np

from dialer.engine import Engine
from dialer.floor import FloorOperator
from lists import attempts, dispositions
from lists.errors import DispositionError

# What a simulated conversation ends in, with its share. Callbacks are asked for a couple of hours later.
DISPOSITION_SHARES = {
    "sale": 0.10,
    "information_sent": 0.20,
    "callback": 0.10,
    "not_interested": 0.35,
    "not_our_audience": 0.05,
    "no_decision": 0.20,
}


class SimulatedOperators:
    def __init__(self, engine: Engine, *, mean_wrap_s: float, seed: int = 0) -> None:
        self._engine = engine
        self._mean_wrap_s = mean_wrap_s
        self._rng = np.random.default_rng(seed)
        self._codes = list(DISPOSITION_SHARES)
        self._shares = np.array(list(DISPOSITION_SHARES.values()))
        engine.wrap_up_listeners.append(self._wrap_up)

    def _wrap_up(self, operator: FloorOperator) -> None:
        if not operator.simulated or operator.attempt_id is None:
            return
        attempt_id = operator.attempt_id
        wrap_s = float(self._rng.exponential(self._mean_wrap_s)) if self._mean_wrap_s > 0 else 0.0
        code = str(self._rng.choice(self._codes, p=self._shares))
        asyncio.get_running_loop().call_later(wrap_s, self._done, operator, attempt_id, code)

    def _done(self, operator: FloorOperator, attempt_id: int, code: str) -> None:
        engine = self._engine
        now = engine.clock.now()
        engine.recorder.put(f"disposition {attempt_id} {code}", partial(
            _dispose, attempt_id=attempt_id, code=code, now=now, operator_id=operator.id))
        if operator.attempt_id == attempt_id:
            engine.wrap_up_done(operator)


async def _dispose(conn: asyncpg.Connection, *, attempt_id: int, code: str, now: datetime, operator_id: int) -> None:
    """As a person does: the chosen code, or, when the manager retired it meanwhile and the code is refused,
    another one the campaign still offers (a final one first: the conversation is over)."""
    try:
        async with conn.transaction():
            await _record(conn, attempt_id, code, now, operator_id)
        return
    except DispositionError:
        campaign_id = await attempts.campaign_of(conn, attempt_id)
        offered = await dispositions.catalogue(conn, campaign_id)
        others = sorted(offered.values(), key=lambda d: (not d.final, d.schedules_callback, d.code))
        if not others or others[0].code == code:
            raise
    await _record(conn, attempt_id, others[0].code, now, operator_id)


async def _record(conn: asyncpg.Connection, attempt_id: int, code: str, now: datetime, operator_id: int) -> None:
    callback_at = now + timedelta(hours=2) if code == "callback" else None
    await dispositions.record_disposition(conn, attempt_id=attempt_id, code=code, now=now, operator_id=operator_id,
                                          callback_at=callback_at)
