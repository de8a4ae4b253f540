"""AmiClient against the PBX simulator over TCP in virtual time: the engine's whole AMI vocabulary works
end to end with the least-privilege user (no FullyBooted, no system class)."""

from __future__ import annotations

import asyncio

import pytest

from ami.client import AmiClient
from ami.pbx import (
    CallAnswered,
    ChannelHungUp,
    ConferenceJoined,
    DialEnded,
    LinkDown,
    OriginateRequest,
    OriginateResult,
    PbxEvent,
)
from ami.simulator import ScriptedCallees, start_simulator


def call(channel_id: str, number: str) -> OriginateRequest:
    return OriginateRequest(channel=f"Local/{number}@pstn-sim", channel_id=channel_id,
                            context="dialer-answered", exten="s", timeout_ms=5_000,
                            variables={"ATTEMPT_ID": channel_id})


@pytest.mark.looptime
async def test_calls_outcomes_reconcile_handoff_and_hangup_against_the_simulator() -> None:
    handle = await start_simulator(callees=ScriptedCallees())
    client = AmiClient("127.0.0.1", handle.port, "dialer-lp", "change-me", ping_interval=5, ping_timeout=2)
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    await client.start()
    try:
        await client.originate(OriginateRequest(channel="Local/101@operators", channel_id="op101",
                                                application="Wait", data="600"))
        for channel_id, number in (("a-answer", "55550006"), ("a-busy", "25550002"),
                                   ("a-congestion", "45550004"), ("a-noanswer", "35550003")):
            await client.originate(call(channel_id, number))
        await asyncio.sleep(7)

        results = {e.channel_id: e.reason for e in seen if isinstance(e, OriginateResult)}
        assert results == {"op101": 4, "a-answer": 4, "a-busy": 5, "a-congestion": 8, "a-noanswer": 3}
        assert DialEnded("a-busy", "BUSY") in seen
        assert [e.channel_id for e in seen if isinstance(e, CallAnswered)] == ["a-answer"]

        live = {c.channel_id for c in await client.list_channels()}
        assert live == {"op101", "op101-2", "a-answer", "a-answer-2"}
        attempts = {row.channel_id: row.variables.get("ATTEMPT_ID") for row in await client.status()}
        assert attempts["a-answer"] == "a-answer"

        await client.redirect("a-answer", "operator-join", "101")
        await asyncio.sleep(0.5)
        assert ConferenceJoined("op101", "a-answer") in seen
        members = {m.channel_id for m in await client.confbridge_list("op101")}
        assert members == {"op101-2", "a-answer"}

        await client.hangup("a-answer")
        await client.hangup("/^Local/.*/")
        await asyncio.sleep(0.5)
        assert await client.list_channels() == []
        assert {e.channel_id for e in seen if isinstance(e, ChannelHungUp)} >= {"a-answer", "op101"}
        assert not [e for e in seen if isinstance(e, LinkDown)]  # pings kept the link through it all
    finally:
        await client.close()
        await handle.close()
