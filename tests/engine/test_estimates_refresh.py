"""A decision reads the campaign's estimates as computed about a second ago (``Engine._estimates``):
computing them walks every busy operator's handle time so far, which on a large floor cost as much as the
decision itself, many times a second, while they move over minutes. Once a campaign has estimates, no
decision computes them: one that finds them a second old has them computed again in a callback of their own,
after it, so that a call is never placed late for their sake."""

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
    assert engine.snapshot(1).estimates is first          # this decision reads them as they were
    await asyncio.sleep(0)                                # their own callback computes them again
    later = engine.snapshot(1).estimates
    assert later is not first and later.samples == 50 > first.samples


@pytest.mark.looptime
async def test_a_decision_never_computes_kept_estimates_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(None, _Pbx(), SystemClock())  # type: ignore[arg-type]
    engine.estimators[1] = OnlineEstimators()
    engine.snapshot(1)
    computed: list[str] = []
    original = OnlineEstimators.estimates

    def counted(self: OnlineEstimators, *args: object, **kwargs: object) -> object:
        computed.append("decision" if deciding else "own callback")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(OnlineEstimators, "estimates", counted)
    for _ in range(5):
        await asyncio.sleep(ESTIMATES_EVERY_S)
        deciding = True
        engine.snapshot(1)
        engine.snapshot(1)          # a second decision in the same turn asks for no second refresh
        deciding = False
        await asyncio.sleep(0)
    assert computed == ["own callback"] * 5


@pytest.mark.looptime
async def test_new_estimators_are_read_at_once() -> None:
    engine = Engine(None, _Pbx(), SystemClock())  # type: ignore[arg-type]
    engine.estimators[1] = OnlineEstimators()
    first = engine.snapshot(1).estimates
    engine.estimators[1] = OnlineEstimators()          # the campaign started again
    assert engine.snapshot(1).estimates is not first
