"""The client's control session: a hand-off's Redirect does not wait behind a round of Originates.

Asterisk carries out one manager session's actions in order; a Redirect written after three hundred
Originates on the same session is answered after all of them. On the control session (a second login,
``Events: off``) it is answered while they are still being carried out. The two sessions are one link:
either lost, both go, and both come back.
"""

from __future__ import annotations

import asyncio

from ami.client import AmiClient
from ami.pbx import ConferenceJoined, LinkDown, LinkUp, OriginateRequest, OriginateResult, PbxEvent
from ami.simulator import ScriptedCallees, start_simulator
from ami.simulator.server import ACTION_SLICE

ROUND = 300


def ringing(channel_id: str) -> OriginateRequest:
    return OriginateRequest(channel="Local/35550003@pstn-sim", channel_id=channel_id, context="dialer-answered",
                            exten="s", timeout_ms=60_000, variables={"ATTEMPT_ID": channel_id})


async def _answered_before(control_session: bool) -> int:
    """How many of a round's Originates were answered when the Redirect written after them was."""
    handle = await start_simulator(callees=ScriptedCallees())
    client = AmiClient("127.0.0.1", handle.port, "dialer", "change-me", ping_interval=None,
                       control_session=control_session)
    await client.start()
    try:
        answered = 0

        async def originate(channel_id: str) -> None:
            nonlocal answered
            await client.originate(ringing(channel_id))
            answered += 1

        tasks = [asyncio.create_task(originate(f"a-{i}")) for i in range(ROUND)]
        await asyncio.sleep(0)                 # every Originate written
        seen_then = -1

        async def redirect() -> None:
            nonlocal seen_then
            try:
                await client.redirect("a-0", "operator-join", "101")
            finally:
                seen_then = answered

        await asyncio.gather(redirect(), *tasks)
        return seen_then
    finally:
        await client.close()
        await handle.close()


async def test_a_redirect_on_the_control_session_passes_a_round_of_originates() -> None:
    assert await _answered_before(control_session=False) == ROUND    # one session: behind all of them
    # the simulator, as Asterisk with a thread per session, lets the other session in every few actions
    assert await _answered_before(control_session=True) <= 2 * ACTION_SLICE


async def test_the_control_session_hears_no_events_and_is_written_before_redirect_returns() -> None:
    handle = await start_simulator(callees=ScriptedCallees())
    client = AmiClient("127.0.0.1", handle.port, "dialer", "change-me", ping_interval=None, control_session=True)
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    await client.start()
    try:
        assert handle.session_count == 2
        await client.originate(ringing("a-1"))
        await client.originate(OriginateRequest(channel="Local/25550002@pstn-sim", channel_id="a-busy",
                                                context="dialer-answered", exten="s", timeout_ms=5_000))
        sent = client.redirect("a-1", "operator-join", "101")   # not awaited: on the wire all the same
        await asyncio.sleep(3)
        assert ConferenceJoined("op101", "a-1") in seen
        await sent
        assert [e for e in seen if isinstance(e, OriginateResult)] == [OriginateResult("a-busy", False, 5)]
    finally:
        await client.close()
        await handle.close()


async def test_losing_the_control_session_drops_the_link_and_both_come_back() -> None:
    handle = await start_simulator(callees=ScriptedCallees())
    client = AmiClient("127.0.0.1", handle.port, "dialer", "change-me", ping_interval=None, control_session=True,
                       reconnect_backoff=(0.05, 0.1))
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    await client.start()
    try:
        assert client._control is not None
        client._control.close("test: the control session's socket broke")
        for _ in range(200):
            if sum(isinstance(e, LinkUp) for e in seen) == 2:
                break
            await asyncio.sleep(0.01)
        assert [type(e) for e in seen] == [LinkUp, LinkDown, LinkUp]
        assert client.connected and handle.session_count == 2
    finally:
        await client.close()
        await handle.close()
