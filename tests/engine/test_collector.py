"""Once started, the engine leaves Python the young and middle generations and runs full collections itself
(``dialer/collector.py``): only once the process has grown, at a moment no call is in flight — or at once
when it has grown twice as much, so memory stays bounded on a floor that is never idle."""

from __future__ import annotations

import asyncio
import gc

from dialer import collector
from dialer.tasks import BackgroundTasks

MB = 1 << 20


class _Process:
    def __init__(self) -> None:
        self.rss = 100 * MB
        self.collected: list[int] = []
        self.calls_in_flight = 10

    def collect(self, generation: int) -> int:
        self.collected.append(generation)
        return 0


def _collector(process: _Process) -> collector.Collector:
    return collector.Collector(in_flight=lambda: process.calls_in_flight, full_growth_bytes=50 * MB,
                               rss=lambda: process.rss, collect=process.collect)


def test_no_full_collection_while_memory_holds() -> None:
    process = _Process()
    collecting = _collector(process)
    process.calls_in_flight = 0
    process.rss += 40 * MB
    assert not any(collecting.step() for _ in range(5))
    assert process.collected == [] and collecting.full == 0


def test_a_full_collection_waits_for_a_floor_with_no_call_unless_memory_grew_twice_the_allowance() -> None:
    process = _Process()
    collecting = _collector(process)
    process.rss += 60 * MB                       # grown past the allowance, calls in flight: not now
    assert not collecting.step()
    process.calls_in_flight = 0                  # the floor is idle: now
    assert collecting.step() and collecting.full == 1
    assert collecting.baseline == process.rss
    process.calls_in_flight = 10
    process.rss += 60 * MB
    assert not collecting.step()
    process.rss += 45 * MB                       # twice the allowance: at once, calls or not
    assert collecting.step() and collecting.full == 2


def test_a_filling_floor_moves_the_baseline_and_makes_no_full_collection() -> None:
    process = _Process()
    collecting = _collector(process)
    for _ in range(10):                          # the floor fills: more calls in flight, more memory held by them
        process.calls_in_flight += 1000
        process.rss += 30 * MB
        assert not collecting.step()
    assert process.collected == [] and collecting.baseline == process.rss
    process.calls_in_flight -= 500               # the floor has filled: growth from here counts
    process.rss += 60 * MB
    assert not collecting.step()
    process.rss += 45 * MB                       # twice the allowance past the filled floor: at once
    assert collecting.step() and process.collected == [2]


def test_settle_freezes_start_up_and_turns_pythons_full_collections_off_while_it_runs() -> None:
    seen: dict[str, object] = {}
    before = gc.get_threshold()

    async def engine() -> None:
        tasks = BackgroundTasks()
        collector.settle(tasks, in_flight=lambda: 0)
        await asyncio.sleep(0)
        seen.update(frozen=gc.get_freeze_count(), thresholds=gc.get_threshold(), tasks=len(tasks))
        await tasks.cancel_all()
        seen["thresholds after"] = gc.get_threshold()

    try:
        asyncio.run(engine())       # a loop of its own, closed before the frozen objects are let go
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert seen["frozen"] > 0 and seen["tasks"] == 1            # type: ignore[operator]
    assert seen["thresholds"] == (before[0], before[1], collector.NEVER)
    assert seen["thresholds after"] == before


def test_the_resident_memory_is_read() -> None:
    assert collector.resident_bytes() > MB
