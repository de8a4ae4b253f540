"""Once started, the engine collects garbage at moments of its choosing (``dialer/collector.py``): the young
generation every second, the middle one every tenth time, a full collection only once the process has
grown, at a moment no call is in flight — or at once when it has grown twice as much, so memory stays
bounded on a floor that is never idle."""

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
    return collector.Collector(quiet=lambda: process.calls_in_flight == 0, full_growth_bytes=50 * MB,
                               middle_every=3, rss=lambda: process.rss, collect=process.collect)


def test_the_young_generation_each_time_the_middle_one_every_third_and_no_full_one_while_memory_holds() -> None:
    process = _Process()
    collecting = _collector(process)
    for _ in range(9):
        collecting.step()
    assert process.collected == [0, 0, 1, 0, 0, 1, 0, 0, 1]
    assert collecting.full == 0


def test_a_full_collection_waits_for_a_floor_with_no_call_unless_memory_grew_twice_the_allowance() -> None:
    process = _Process()
    collecting = _collector(process)
    process.rss += 60 * MB                       # grown past the allowance, calls in flight: not now
    assert collecting.step() != 2
    process.calls_in_flight = 0                  # the floor is idle: now
    assert collecting.step() == 2 and collecting.full == 1
    assert collecting.baseline == process.rss
    process.calls_in_flight = 10
    process.rss += 60 * MB
    assert collecting.step() != 2
    process.rss += 45 * MB                       # twice the allowance: at once, calls or not
    assert collecting.step() == 2 and collecting.full == 2


def test_settle_freezes_start_up_and_turns_automatic_collection_off_while_it_runs() -> None:
    seen: dict[str, object] = {}

    async def engine() -> None:
        tasks = BackgroundTasks()
        collector.settle(tasks, quiet=lambda: True)
        await asyncio.sleep(0)
        seen.update(frozen=gc.get_freeze_count(), automatic=gc.isenabled(), tasks=len(tasks))
        await tasks.cancel_all()
        seen["automatic after"] = gc.isenabled()

    try:
        asyncio.run(engine())       # a loop of its own, closed before the frozen objects are let go
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen == {"frozen": seen["frozen"], "automatic": False, "tasks": 1, "automatic after": True}
    assert seen["frozen"] > 0


def test_the_resident_memory_is_read() -> None:
    assert collector.resident_bytes() > MB
