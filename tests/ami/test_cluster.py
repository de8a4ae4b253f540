"""Several Asterisk servers behind one Pbx port: channel and calls-per-second limits per server (in
virtual time), calls pinned to their server, a server that is down skipped."""

from __future__ import annotations

import asyncio

import pytest

from ami.cluster import PbxCapacityError, PbxCluster, ServerLimits
from ami.pbx import ChannelHungUp, LinkDown, OriginateRequest, PbxEvent, PbxNotConnected
from tests.engine.fake_pbx import FakePbx


class TimedPbx(FakePbx):
    """Records the loop time of every Originate it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[float] = []

    async def originate(self, request: OriginateRequest) -> None:
        await super().originate(request)
        self.sent_at.append(asyncio.get_running_loop().time())


def call(n: int) -> OriginateRequest:
    return OriginateRequest(channel=f"Local/{n}@pstn", channel_id=f"attempt-{n}", context="dialer-answered", exten="s")


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)


async def originate_all(cluster: PbxCluster, requests: list[OriginateRequest]) -> list[BaseException | None]:
    return await asyncio.gather(*(cluster.originate(r) for r in requests), return_exceptions=True)


@pytest.mark.looptime
async def test_never_more_channels_on_a_server_than_its_limit() -> None:
    a, b = TimedPbx(), TimedPbx()
    cluster = PbxCluster({"a": (a, ServerLimits(max_channels=3, cps=100)),
                          "b": (b, ServerLimits(max_channels=2, cps=100))})
    results = await originate_all(cluster, [call(n) for n in range(10)])
    assert sum(r is None for r in results) == 5
    assert all(isinstance(r, PbxCapacityError) for r in results if r is not None)
    assert (len(a.originated), len(b.originated), cluster.room()) == (3, 2, 0)
    a.emit(ChannelHungUp(a.originated[0].channel_id, 16))       # a call on a ends: one channel free there
    assert cluster.room() == 1
    await cluster.originate(call(99))
    assert a.originated[-1].channel_id == "attempt-99" and cluster.channels("a") == 3


@pytest.mark.looptime
async def test_never_more_originates_in_any_second_than_the_servers_cps() -> None:
    a, b = TimedPbx(), TimedPbx()
    cluster = PbxCluster({"a": (a, ServerLimits(max_channels=1000, cps=5)),
                          "b": (b, ServerLimits(max_channels=1000, cps=3))}, max_wait_s=60)
    loop = asyncio.get_running_loop()
    start = loop.time()
    results = await originate_all(cluster, [call(n) for n in range(80)])
    assert results == [None] * 80
    assert most_in_one_second(a.sent_at) == 5 and most_in_one_second(b.sent_at) == 3
    assert len(a.sent_at) + len(b.sent_at) == 80
    assert loop.time() - start == pytest.approx(80 / 8, abs=1.0)     # 8 per second between them, no slower


@pytest.mark.looptime
async def test_a_burst_beyond_the_wait_limit_is_refused_not_queued() -> None:
    a = TimedPbx()
    cluster = PbxCluster({"a": (a, ServerLimits(max_channels=1000, cps=2))}, max_wait_s=1.5)
    results = await originate_all(cluster, [call(n) for n in range(10)])
    assert sum(r is None for r in results) == 4          # 2 now, 2 a second later; the rest would wait too long
    assert most_in_one_second(a.sent_at) == 2


async def test_a_server_that_is_down_gets_nothing_and_the_others_go_on() -> None:
    a, b = TimedPbx(), TimedPbx()
    cluster = PbxCluster({"a": (a, ServerLimits()), "b": (b, ServerLimits())})
    seen: list[PbxEvent] = []
    cluster.subscribe(seen.append)
    a.set_connected(False)
    a.emit(LinkDown("connection reset"))
    await originate_all(cluster, [call(n) for n in range(6)])
    assert (len(a.originated), len(b.originated)) == (0, 6)
    assert seen == [LinkDown("connection reset", server="a")]
    assert cluster.connected
    with pytest.raises(PbxNotConnected, match="a not connected"):    # never a partial answer
        await cluster.status()
    b.set_connected(False)
    assert not cluster.connected
    with pytest.raises(PbxNotConnected):
        await cluster.originate(call(7))


async def test_later_actions_go_to_the_server_the_call_was_placed_on() -> None:
    a, b = TimedPbx(), TimedPbx()
    cluster = PbxCluster({"a": (a, ServerLimits(max_channels=1)), "b": (b, ServerLimits(max_channels=1))})
    await cluster.originate(call(1))
    await cluster.originate(call(2))
    on_a, on_b = a.originated[0].channel_id, b.originated[0].channel_id
    await cluster.redirect(on_b, "operator-join", "101")
    await cluster.hangup(on_a)
    assert b.redirects == [(on_b, "operator-join", "101")] and a.redirects == []
    assert a.hangups == [on_a] and b.hangups == []
    assert cluster.server_of(on_a + "-2") == "a"


async def test_the_route_hook_keeps_a_request_on_its_allowed_servers() -> None:
    a, b = TimedPbx(), TimedPbx()
    cluster = PbxCluster({"a": (a, ServerLimits()), "b": (b, ServerLimits())})
    cluster.route = lambda request: ["b"] if request.channel_id.startswith("op") else None
    cluster.preference = lambda server: 1.0 if server == "a" else 0.0
    await cluster.originate(OriginateRequest(channel="Local/101@operators", channel_id="op101-1", application="Wait"))
    await cluster.originate(call(1))
    assert [r.channel_id for r in b.originated] == ["op101-1"]
    assert [r.channel_id for r in a.originated] == ["attempt-1"]     # preferred, though b is as loaded
