"""A burst of events read at once does not hold the event loop until the last of them is handled: they are
handled a slice at a time, in arrival order, and a callback that became ready meanwhile (a hand-off's
Redirect, a timer) runs between slices."""

from __future__ import annotations

import asyncio

from ami.client import AmiClient
from ami.connection import DISPATCH_SLICE
from ami.wire import Message
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
