"""Asterisk's own database (AstDB) in the simulator, as Asterisk 22's main/db.c answers it, and the trace
the dialplan's safety net and opt-out leave there for a call no engine heard."""

from __future__ import annotations

import asyncio

import pytest

from ami.client import AmiClient
from ami.pbx import ChannelHungUp, OriginateRequest, PbxError, PbxEvent
from ami.simulator import CalleeFate, start_simulator
from ami.wire import Message


class Answers:
    def __init__(self, opts_out: bool) -> None:
        self.opts_out = opts_out

    def fate(self, number: str) -> CalleeFate:
        return CalleeFate("answer", ring_s=1.0, talk_s=600.0, opts_out=self.opts_out)


async def unheard_call(opts_out: bool, user: str = "dialer") -> tuple[AmiClient, object]:
    """A call answered with nobody to Redirect it: the dialplan's safety net runs to the end."""
    handle = await start_simulator(callees=Answers(opts_out))
    client = AmiClient("127.0.0.1", handle.port, user, "change-me", ping_interval=5, ping_timeout=2)
    ended = asyncio.Event()

    def on(event: PbxEvent) -> None:
        if isinstance(event, ChannelHungUp) and event.channel_id == "attempt-7":
            ended.set()

    client.subscribe(on)
    await client.start()
    await client.originate(OriginateRequest(
        channel="Local/15550001@pstn", channel_id="attempt-7", context="dialer-answered", exten="s",
        timeout_ms=10_000, variables={"ATTEMPT_ID": "7", "DIALER_SAFE_HARBOR_S": "2", "DIALER_PHONE": "+15550001",
                                      "DIALER_SELLER_PROMPT": "dialer/seller", "DIALER_CALLBACK_NUMBER": "5550100"}))
    await asyncio.wait_for(ended.wait(), 60)
    return client, handle


@pytest.mark.looptime
@pytest.mark.parametrize(("opts_out", "trace"), [(False, "no-operator"), (True, "opt-out")])
async def test_the_safety_net_and_the_opt_out_leave_a_trace_that_outlives_the_call(opts_out: bool, trace: str) -> None:
    client, handle = await unheard_call(opts_out)
    try:
        assert handle.astdb == {("dialer", "7"): f"{trace} +15550001"}  # type: ignore[attr-defined]
        assert await client.db_get("dialer", "7") == f"{trace} +15550001"
        await client.db_del("dialer", "7")
        assert await client.db_get("dialer", "7") is None
        await client.db_del("dialer", "7")                             # already gone: no error
    finally:
        await client.close()
        await handle.close()                                           # type: ignore[attr-defined]


@pytest.mark.looptime
async def test_dbget_answers_as_asterisk_22_a_list_when_found_an_error_when_not() -> None:
    handle = await start_simulator(callees=Answers(False))
    client = AmiClient("127.0.0.1", handle.port, "dialer", "change-me", ping_interval=5, ping_timeout=2)
    await client.start()
    try:
        put = await client.send(Message.of(Action="DBPut", Family="dialer", Key="9", Val="opt-out"))
        assert put.get("Message") == "Updated database successfully"
        items = await client.send_list(Message.of(Action="DBGet", Family="dialer", Key="9"))
        assert [(m.event, m.get("Family"), m.get("Key"), m.get("Val")) for m in items] == [
            ("DBGetResponse", "dialer", "9", "opt-out")]
        with pytest.raises(PbxError, match="Database entry not found"):
            await client.send(Message.of(Action="DBGet", Family="dialer", Key="10"))
        with pytest.raises(PbxError, match=r"No key specified\."):
            await client.send(Message.of(Action="DBGet", Family="dialer"))
    finally:
        await client.close()
        await handle.close()


@pytest.mark.looptime
async def test_the_least_privilege_user_reads_the_trace_but_may_not_delete_it() -> None:
    """DBGet needs system or reporting, DBDel system (main/db.c), which the engine's AMI user lacks."""
    client, handle = await unheard_call(True, user="dialer-lp")
    try:
        assert await client.db_get("dialer", "7") == "opt-out +15550001"
        with pytest.raises(PbxError, match="Permission denied"):
            await client.db_del("dialer", "7")
    finally:
        await client.close()
        await handle.close()                                           # type: ignore[attr-defined]
