"""A decision reads the campaign's estimates as computed at most a second ago (``Engine._estimates``):
computing them walks every busy operator's handle time so far, which on a large floor cost as much as the
decision itself, many times a second, while they move over minutes."""

from __future__ import annotations

import asyncio

import pytest

from dialer.clock import SystemClock
from dialer.engine import ESTIMATES_EVERY_S, Engine
from pacing.estimators import OnlineEstimators


class _Pbx:
    connected = True

    def subscribe(self, _listener: object) -> None:
        pass


@pytest.mark.looptime
async def test_estimates_are_kept_for_a_second_of_loop_time_then_computed_again() -> None:
    engine = Engine(None, _Pbx(), SystemClock())  # type: ignore[arg-type]   # no store is reached
    estimators = engine.estimators[1] = OnlineEstimators()
    first = engine.snapshot(1).estimates
    for _ in range(50):
        estimators.observe_dial(asyncio.get_running_loop().time(), True, 12.0)
    assert engine.snapshot(1).estimates is first
    await asyncio.sleep(ESTIMATES_EVERY_S)
    later = engine.snapshot(1).estimates
    assert later is not first and later.samples == 50 > first.samples


@pytest.mark.looptime
async def test_new_estimators_are_read_at_once() -> None:
    engine = Engine(None, _Pbx(), SystemClock())  # type: ignore[arg-type]
    engine.estimators[1] = OnlineEstimators()
    first = engine.snapshot(1).estimates
    engine.estimators[1] = OnlineEstimators()          # the campaign started again
    assert engine.snapshot(1).estimates is not first
