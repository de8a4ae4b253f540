"""Replays the real Asterisk 22 transcripts (tests/fixtures/asterisk/transcripts) through AmiClient.

A fake server plays Asterisk's side of a recording: it sends what Asterisk sent up to the client's next
action, waits for the client to send that action (and checks it says what the recorded one said), then
sends Asterisk's recorded answer with the ActionIDs rewritten to the client's. Reads are replayed as
recorded, so a read that ends in the middle of a message stays that way. The test then checks the typed
events and results the client made of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from ami.client import AmiClient
from ami.pbx import (
    CallAnswered,
    ChannelHungUp,
    ConferenceJoined,
    ConferenceLeft,
    DialEnded,
    LinkUp,
    OriginateRequest,
    OriginateResult,
    PbxAuthenticationError,
    PbxError,
    PbxEvent,
)
from ami.wire import Message, Parser
from tests.fixtures import TRANSCRIPTS

CLOSE = None   # in an answer: Asterisk closed the socket here (the fault recordings mark it)


@dataclass
class Step:
    recorded: Message        # the action the recording's client sent
    answer: list[str | None]  # Asterisk's reads until the next action (CLOSE: it closed the socket)


def load(name: str) -> tuple[list[str], list[Step]]:
    greeting: list[str] = []
    steps: list[Step] = []
    for line in (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["dir"] == "close":
            steps[-1].answer.append(CLOSE)
        elif record["dir"] == "out":
            (action,) = Parser(expect_banner=False).feed(record["data"].encode())
            steps.append(Step(action, []))
        elif steps:
            steps[-1].answer.append(record["data"])
        else:
            greeting.append(record["data"])
    return greeting, steps


@dataclass
class Replay:
    name: str
    piece: int | None = None  # write Asterisk's reads in pieces of this many bytes (splits messages)
    sent: list[Message] = field(default_factory=list)  # what our client sent, in order
    differences: list[str] = field(default_factory=list)
    extra_fields: set[tuple[str, str]] = field(default_factory=set)  # (action, key) we add
    done = False

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        greeting, steps = load(self.name)
        ids: dict[str, str] = {}
        parser = Parser(expect_banner=False)
        waiting: list[Message] = []

        async def next_action() -> Message | None:
            while not waiting:
                data = await reader.read(65536)
                if not data:
                    return None
                waiting.extend(parser.feed(data))
            return waiting.pop(0)

        for chunk in greeting:
            writer.write(chunk.encode())
        for step in steps:
            action = await next_action()
            if action is None:
                return
            self.sent.append(action)
            self._compare(action, step.recorded)
            ids[step.recorded.action_id or ""] = action.action_id or ""
            for chunk in step.answer:
                if chunk is CLOSE:
                    self.done = True
                    writer.close()
                    return
                data = rewrite(chunk, ids).encode()
                for start in range(0, len(data), self.piece or len(data)):
                    writer.write(data[start:start + (self.piece or len(data))])
                    if self.piece:
                        await writer.drain()
                        await asyncio.sleep(0)  # let the client read a piece that ends mid-message
            await writer.drain()
        self.done = True
        # Past the recording: answer anything (the test's final Ping) so it knows all was read.
        while (action := await next_action()) is not None:
            writer.write(Message.of(Response="Success", ActionID=action.action_id or "").to_bytes())

    def _compare(self, ours: Message, recorded: Message) -> None:
        name = recorded.get("Action") or "?"
        for key in {k.lower(): k for k, _ in recorded.pairs if k.lower() != "actionid"}.values():
            if ours.get_all(key) != recorded.get_all(key):
                self.differences.append(f"{name} {key}: ours {ours.get_all(key)} recorded "
                                        f"{recorded.get_all(key)}")
        for key, _ in ours.pairs:
            if key not in recorded:
                self.extra_fields.add((name, key))


def rewrite(chunk: str, ids: dict[str, str]) -> str:
    for recorded, ours in ids.items():
        chunk = chunk.replace(f"ActionID: {recorded}\r\n", f"ActionID: {ours}\r\n")
    return chunk


@asynccontextmanager
async def replayed(name: str, username: str = "dialer", secret: str = "change-me", piece: int | None = None
                   ) -> AsyncIterator[tuple[AmiClient, list[PbxEvent], Replay]]:
    replay = Replay(name, piece)
    server = await asyncio.start_server(replay.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AmiClient("127.0.0.1", port, username, secret, ping_interval=60, reconnect_backoff=(5, 5))
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    try:
        yield client, seen, replay
    finally:
        await client.close()
        server.close()


async def finish(client: AmiClient, replay: Replay) -> None:
    """Everything recorded has been sent and handled: a Ping answered after it proves it (TCP order)."""
    await asyncio.wait_for(client.send(Message.of(Action="Ping")), 2)
    assert replay.done, f"the client sent fewer actions than the recording: {len(replay.sent)}"
    assert replay.differences == []


def customer(channel_id: str, number: str, timeout_ms: int = 20_000) -> OriginateRequest:
    return OriginateRequest(channel=f"Local/{number}@pstn-sim", channel_id=channel_id,
                            context="dialer-answered", exten="s", timeout_ms=timeout_ms,
                            caller_id='"Shop" <74959374955>', variables={"LEAD_ID": "42"})


def typed(seen: list[PbxEvent], *kinds: type) -> list[PbxEvent]:
    return [e for e in seen if isinstance(e, kinds)]


async def test_login_bad_raises_authentication_error() -> None:
    async with replayed("login-bad", secret="wrong") as (client, seen, replay):
        with pytest.raises(PbxAuthenticationError, match="Authentication failed"):
            await asyncio.wait_for(client.start(), 2)
        assert replay.differences == []
        assert seen == [] and not client.connected


async def test_ping_answers_pong_and_unknown_action_is_a_pbx_error_that_keeps_the_link() -> None:
    async with replayed("ping-and-unknown-action") as (client, _, replay):
        await client.start()
        pong = await client.send(Message.of(Action="Ping"))
        assert pong["Ping"] == "Pong"
        with pytest.raises(PbxError, match="Invalid/unknown command: NoSuchAction") as caught:
            await client.send(Message.of(Action="NoSuchAction"))
        assert caught.value.action == "NoSuchAction"
        assert client.connected
        await finish(client, replay)


OUTCOMES: dict[str, tuple[OriginateRequest, list[PbxEvent]]] = {
    "originate-answered": (customer("dial-orig-answered", "15550001"), [
        DialEnded("dial-orig-answered", "ANSWER"),
        OriginateResult("dial-orig-answered", success=True, reason=4),
        CallAnswered("dial-orig-answered", amd_status=None),
        ChannelHungUp("dial-orig-answered", 16, "Normal Clearing"),
        ChannelHungUp("dial-orig-answered-2", 16, "Normal Clearing")]),
    "originate-busy": (customer("dial-orig-busy", "25550002"), [
        DialEnded("dial-orig-busy", "BUSY"),
        OriginateResult("dial-orig-busy", success=False, reason=5),
        ChannelHungUp("dial-orig-busy", 0, "Unknown"),
        ChannelHungUp("dial-orig-busy-2", 17, "User busy")]),
    "originate-noanswer": (customer("dial-orig-noanswer", "35550003", timeout_ms=5000), [
        OriginateResult("dial-orig-noanswer", success=False, reason=3),
        ChannelHungUp("dial-orig-noanswer-2", 19, "User alerting, no answer"),
        ChannelHungUp("dial-orig-noanswer", 19, "User alerting, no answer")]),
    "originate-congestion": (customer("dial-orig-congestion", "45550004"), [
        DialEnded("dial-orig-congestion", "CONGESTION"),
        ChannelHungUp("dial-orig-congestion-2", 34, "Circuit/channel congestion"),
        ChannelHungUp("dial-orig-congestion", 0, "Unknown"),
        OriginateResult("dial-orig-congestion", success=False, reason=8)]),
    # No ChannelId was recorded here, and Asterisk answers "Uniqueid: <unknown>": the result still
    # reaches the attempt through the Originate's ActionID.
    "originate-bad-extension": (OriginateRequest(channel="Local/99@nosuchcontext", channel_id="att-bad",
                                                 context="dialer-answered", exten="s"), [
        ChannelHungUp("1795752320.17", 0, "Unknown"),
        ChannelHungUp("1795752320.16", 0, "Unknown"),
        OriginateResult("att-bad", success=False, reason=0)]),
}


@pytest.mark.parametrize("piece", [None, 13], ids=["reads-as-recorded", "reads-split-every-13-bytes"])
@pytest.mark.parametrize("name", sorted(OUTCOMES))
async def test_originate_outcome_becomes_typed_events(name: str, piece: int | None) -> None:
    request, expected = OUTCOMES[name]
    async with replayed(name, piece=piece) as (client, seen, replay):
        await client.start()
        await client.originate(request)
        await finish(client, replay)
    assert seen[0] == LinkUp()
    assert seen[1:] == expected
    allowed = {("Originate", "Timeout"), ("Originate", "ChannelId"), ("Originate", "OtherChannelId")}
    assert replay.extra_fields <= allowed


async def test_handoff_record_spy_hangup_session() -> None:
    async with replayed("handoff-record-spy-hangup") as (client, seen, replay):
        await client.start()
        await client.originate(OriginateRequest(channel="Local/101@operators", channel_id="op101-phone",
                                                application="Wait", data="60"))
        await client.originate(customer("dial-orig-handoff", "55550005"))
        channels = await client.list_channels()
        await client.redirect("dial-orig-handoff", "operator-join", "101")
        await client.send(Message.of(Action="MixMonitor", Channel="dial-orig-handoff",
                                     File="/var/spool/asterisk/monitor/orig-handoff.wav", Options="b"))
        members = await client.confbridge_list("op101")
        await client.originate(OriginateRequest(channel="Local/s@hold", channel_id="spy-1",
                                                application="ChanSpy", data="Local/101@operators,qw"))
        await client.hangup("dial-orig-handoff")
        await client.hangup("/^Local/.*/")
        after = await client.list_channels()
        await finish(client, replay)

    assert [c.channel_id for c in channels] == ["op101-phone-2", "op101-phone", "dial-orig-handoff",
                                                "dial-orig-handoff-2"]
    assert [(m.conference, m.channel_id) for m in members] == [("op101", "op101-phone-2"),
                                                               ("op101", "dial-orig-handoff")]
    assert after == []
    assert typed(seen, OriginateResult) == [OriginateResult("op101-phone", True, 4),
                                            OriginateResult("dial-orig-handoff", True, 4),
                                            OriginateResult("spy-1", True, 4)]  # matched by ActionID
    assert typed(seen, ConferenceJoined, ConferenceLeft) == [
        ConferenceJoined("op101", "op101-phone-2"), ConferenceJoined("op101", "dial-orig-handoff"),
        ConferenceLeft("op101", "dial-orig-handoff"), ConferenceLeft("op101", "op101-phone-2")]
    assert typed(seen, CallAnswered) == [CallAnswered("dial-orig-handoff")]
    hung_up = {e.channel_id for e in typed(seen, ChannelHungUp)}  # type: ignore[attr-defined]
    assert {"dial-orig-handoff", "dial-orig-handoff-2", "op101-phone", "op101-phone-2"} <= hung_up
    assert replay.extra_fields <= {("Originate", "Timeout"), ("Originate", "ChannelId"),
                                   ("Originate", "OtherChannelId"), ("Hangup", "Cause")}


async def test_least_privilege_user_gets_refusals_as_errors_and_dials_without_fully_booted() -> None:
    async with replayed("least-privilege-user", username="dialer-lp") as (client, seen, replay):
        await client.start()
        with pytest.raises(PbxError, match="Permission denied"):
            await client.send(Message.of(Action="MixMonitor", Channel="Local/x@y-00000000;1", File="a.wav"))
        with pytest.raises(PbxError, match="Permission denied"):
            await client.send(Message.of(Action="Command", Command="core show version"))
        for application, data in (("MixMonitor", "x.wav"), ("System", "true")):
            with pytest.raises(PbxError, match="Originate Access Forbidden"):
                await client.originate(OriginateRequest(channel="Local/s@hold", channel_id=f"x-{application}",
                                                        application=application, data=data))
        await client.originate(customer("dial-orig-lp", "15550009"))
        channels = await client.list_channels()
        await client.hangup("/^Local/.*/")
        await finish(client, replay)
    assert sorted(c.channel_id for c in channels) == ["dial-orig-lp", "dial-orig-lp-2"]
    # This user hears every event: the answer is read behind more than a slice of them, and goes ahead of
    # the DialEnd recorded before it (ami/connection.py, URGENT); the rest as recorded.
    assert typed(seen, CallAnswered, OriginateResult) == [CallAnswered("dial-orig-lp"),
                                                          OriginateResult("dial-orig-lp", True, 4)]
    assert typed(seen, DialEnded) == [DialEnded("dial-orig-lp", "ANSWER")]
    assert {e.channel_id for e in typed(seen, ChannelHungUp)} == {  # type: ignore[attr-defined]
        "dial-orig-lp", "dial-orig-lp-2"}


async def test_reconcile_lists_channels_and_status_of_a_live_call() -> None:
    async with replayed("reconcile-coreshowchannels-status") as (client, seen, replay):
        await client.start()
        await client.originate(customer("dial-orig-long", "55550006"))
        channels = await client.list_channels()
        rows = await client.status(variables=())
        await client.hangup("/^Local/.*/")
        await finish(client, replay)
    assert [(c.channel_id, c.state, c.context) for c in channels] == [
        ("dial-orig-long", "Up", "dialer-answered"), ("dial-orig-long-2", "Up", "pstn-sim")]
    assert [(r.channel_id, r.state) for r in rows] == [("dial-orig-long", "Up"), ("dial-orig-long-2", "Up")]
    assert rows[0].seconds == 5
    assert typed(seen, OriginateResult) == [OriginateResult("dial-orig-long", True, 4)]
