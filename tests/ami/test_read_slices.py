"""A burst of events read at once does not hold the event loop until the last of them is handled: they are
handled a slice at a time, in arrival order, and a callback that became ready meanwhile (a hand-off's
Redirect, a timer) runs between slices."""

from __future__ import annotations

import asyncio

from ami.client import AmiClient
from ami.connection import DISPATCH_SLICE
from ami.wire import Message
from dialer.call import channel_id_of
from tests.ami.scripted_ami import ScriptedAmi, wait_until


async def test_a_burst_of_events_lets_the_loop_run_between_slices() -> None:
    async with ScriptedAmi() as server:
        client = AmiClient("127.0.0.1", server.port, server.username, server.secret, ping_interval=None,
                           connect_timeout=1.0)
        handled: list[str] = []
        ran_after: list[int] = []

        def on_raw(message: Message) -> None:
            if message.event != "VarSet":
                return
            handled.append(message["Channel"])
            if len(handled) == 1:   # as a hand-off does: work for the loop's next pass
                asyncio.get_running_loop().call_soon(lambda: ran_after.append(len(handled)))

        client.subscribe_raw(on_raw)
        await client.start()
        try:
            burst = b"".join(Message.of(Event="VarSet", Channel=f"PJSIP/t-{i}", Variable="A", Value="1").to_bytes()
                             for i in range(10 * DISPATCH_SLICE))
            server.peers[0].send(burst)       # one write: read in one go
            await wait_until(lambda: len(handled) == 10 * DISPATCH_SLICE)
            assert handled == [f"PJSIP/t-{i}" for i in range(10 * DISPATCH_SLICE)]
            assert ran_after and ran_after[0] <= DISPATCH_SLICE
        finally:
            await client.close()


def _varsets(n: int) -> bytes:
    return b"".join(Message.of(Event="VarSet", Channel=f"PJSIP/t-{i}", Variable="A", Value="1").to_bytes()
                    for i in range(n))


JOIN = Message.of(Event="ConfbridgeJoin", Conference="op101", Channel="Local/5@pstn-1;1", Uniqueid=channel_id_of(7))


async def test_the_events_a_hand_off_waits_for_go_ahead_of_a_backlog() -> None:
    """A wave of hang-ups read at once (thousands of calls timing out together) must not hold up the
    answer or the join of a call being handed off meanwhile: per channel nothing that matters comes before
    them, so they are handled first, those of the same read and those read while the backlog is handled."""
    async with ScriptedAmi() as server:
        client = AmiClient("127.0.0.1", server.port, server.username, server.secret, ping_interval=None,
                           connect_timeout=1.0)
        handled: list[str] = []

        def on_raw(message: Message) -> None:
            handled.append(message.event or "")
            if handled.count("VarSet") == 1:       # the backlog is being handled: the next join comes now
                server.peers[0].send(JOIN.to_bytes())

        client.subscribe_raw(on_raw)
        await client.start()
        try:
            server.peers[0].send(_varsets(50 * DISPATCH_SLICE) + JOIN.to_bytes())   # behind the backlog
            await wait_until(lambda: len(handled) == 50 * DISPATCH_SLICE + 2)
            joins = [i for i, name in enumerate(handled) if name == "ConfbridgeJoin"]
            assert joins[0] == 0                                    # ahead of the backlog read with it
            assert joins[1] < 4 * DISPATCH_SLICE                    # read meanwhile: within a few slices
            assert [name for name in handled if name == "VarSet"] == ["VarSet"] * 50 * DISPATCH_SLICE
        finally:
            await client.close()


async def test_urgent_events_keep_their_own_order() -> None:
    """One queued in the first slice (no backlog yet) still goes before one that jumps a backlog later."""
    async with ScriptedAmi() as server:
        client = AmiClient("127.0.0.1", server.port, server.username, server.secret, ping_interval=None,
                           connect_timeout=1.0)
        handled: list[str] = []
        client.subscribe_raw(lambda message: handled.append(message.event or ""))
        await client.start()
        try:
            answered = Message.of(Event="UserEvent", UserEvent="DialerAnswered", Uniqueid=channel_id_of(7))
            response = Message.of(Event="OriginateResponse", Response="Success", Uniqueid=channel_id_of(7),
                                  Reason="4")
            server.peers[0].send(_varsets(5) + answered.to_bytes() + _varsets(40) + response.to_bytes())
            await wait_until(lambda: len(handled) == 47)
            assert handled[:2] == ["UserEvent", "OriginateResponse"]
        finally:
            await client.close()
