"""A session's action is not held up by a storm of channel timers on another session's calls.

On Asterisk each channel runs on a thread of its own and each manager session on another: when the ring
timeouts of a round of a few hundred calls fall due together, the channels' threads carry out the hangups
while a session's thread reads a Hangup or a Redirect. The simulator has one loop; its channel timers due
at one moment (they share a 50 ms grid) run a slice at a time, and the sessions are read between slices.
"""

from __future__ import annotations

import asyncio

import pytest

from ami.client import AmiClient
from ami.pbx import OriginateRequest
from ami.simulator import ScriptedCallees, start_simulator
from ami.simulator.channels import TIMER_SLICE
from ami.wire import Message, encode

ROUND = 200


@pytest.mark.looptime      # the round's ring timeouts all due at one moment
async def test_a_hangup_asked_on_another_session_passes_a_round_of_ring_timeouts() -> None:
    handle = await start_simulator(callees=ScriptedCallees())
    dialer = AmiClient("127.0.0.1", handle.port, "dialer", "change-me", ping_interval=None)
    reader, writer = await asyncio.open_connection("127.0.0.1", handle.port)   # the other session
    timeouts, seen_then = [0], [-1]
    round_ids = {f"r-{i}" for i in range(ROUND)}
    hang_up_talker = encode(Message([("Action", "Hangup"), ("ActionID", "h-1"), ("Channel", "talker")]))

    def watch(name: str, pairs: list[tuple[str, str]]) -> None:
        uniqueid = dict(pairs).get("Uniqueid", "")
        if name == "Hangup" and uniqueid in round_ids:     # a call of the round ends
            if timeouts[0] == 0:
                writer.write(hang_up_talker)   # on the other session's socket while the round's timeouts run
            timeouts[0] += 1
        elif name == "Hangup" and uniqueid == "talker":
            seen_then[0] = timeouts[0]

    handle.watch(watch)
    await dialer.start()
    try:
        writer.write(encode(Message([("Action", "Login"), ("Username", "dialer"), ("Secret", "change-me"),
                                     ("Events", "off")])))
        assert b"Response: Success" in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        await dialer.originate(OriginateRequest(channel="Local/55550005@pstn-sim", channel_id="talker",
                                                context="dialer-answered", exten="s", timeout_ms=10_000))
        # a round of calls nobody answers, their ring timeouts due at one moment of the simulator's grid
        await asyncio.gather(*(dialer.originate(OriginateRequest(
            channel="Local/35550003@pstn-sim", channel_id=f"r-{i}", context="dialer-answered", exten="s",
            timeout_ms=1_000)) for i in range(ROUND)))
        for _ in range(200):
            if timeouts[0] == ROUND and seen_then[0] >= 0:
                break
            await asyncio.sleep(0.05)
        # Asterisk: the hangup asked meanwhile is not held up by the round. One loop: it is read after a
        # slice of the round, carried out after the next, and its hangup made on the turn after that.
        assert 0 < seen_then[0] <= 4 * TIMER_SLICE
    finally:
        writer.close()
        await dialer.close()
        await handle.close()
