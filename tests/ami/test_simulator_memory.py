"""The simulator stands in for Asterisk, which never stops to collect garbage: a call's channels are freed
by reference counting the moment the call is over, not left in cycles for a full collection to find
(one over thousands of calls in flight stopped the simulator's loop for half a second, and every hand-off
of that moment waited for it)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from ami.simulator import CalleeFate, start_simulator
from tests.ami.simulator_probe import Probe
from tests.ami.test_simulator_behaviour import Always, _customer, _session

looptime = pytest.mark.looptime


@pytest.fixture
def no_cyclic_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("fate", [CalleeFate("answer", ring_s=1, talk_s=5), CalleeFate("busy", ring_s=1),
                                  CalleeFate("no_answer")])
@looptime
async def test_a_finished_calls_channels_are_freed_without_the_cyclic_collector(
        fate: CalleeFate, no_cyclic_collector: None) -> None:
    async with await start_simulator(callees=Always(fate)) as sim:
        probe: Probe = await _session(sim)
        await probe.action("Originate", **_customer("att-m", Timeout="7000"))
        await probe.wait_for(lambda m: m.event == "Newchannel" and m.get("Uniqueid") == "att-m;2")
        channels = [weakref.ref(ch) for ch in sim.channels.values()]
        assert len(channels) == 2
        if fate.outcome == "answer":
            await probe.wait_for(lambda m: m.event == "UserEvent")
            await probe.action("Redirect", Channel="att-m", Context="operator-join", Exten="101", Priority="1")
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-m;2")
        await probe.wait_for(lambda m: m.event == "Hangup" and m.get("Uniqueid") == "att-m")
        assert sim.channels == {}
        assert [ref() for ref in channels] == [None, None]
        await probe.close()
