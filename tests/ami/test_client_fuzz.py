"""A peer sending malformed, hostile or oversized AMI must not crash the client."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami.client import AmiClient
from ami.events import translate
from ami.pbx import LinkDown, LinkUp, PbxEvent, PbxNotConnected
from ami.wire import Message, Parser
from tests.ami.scripted_ami import ScriptedAmi, wait_until
from tests.fixtures import TRANSCRIPTS

EVENT_NAMES = ["OriginateResponse", "DialEnd", "Hangup", "UserEvent", "ConfbridgeJoin", "ConfbridgeLeave",
               "CoreShowChannel", "Status", "Newchannel", "FullyBooted", "Shutdown"]
KEYS = ["Event", "Response", "ActionID", "Uniqueid", "DestUniqueid", "DialStatus", "Reason", "Cause",
        "Cause-txt", "UserEvent", "AmdStatus", "Conference", "EventList", "Message", "Variable"]
text = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30)
field_pairs = st.lists(st.tuples(st.sampled_from(KEYS) | text, text | st.sampled_from(
    ["<unknown>", "4", "-1", "99999999999999999999", "", "DialerAnswered", "start", "Complete"])), max_size=12)


@given(event=st.sampled_from(EVENT_NAMES) | text, pairs=field_pairs)
def test_translating_any_event_never_raises(event: str, pairs: list[tuple[str, str]]) -> None:
    message = Message([("Event", event), *pairs])
    result = translate(message, {"x": "att-1"})
    assert result is None or type(result).__module__ == "ami.pbx"


def ami_message(pairs: list[tuple[str, str]]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode("utf-8") + b"\r\n"


hostile_input = st.lists(st.one_of(
    st.binary(max_size=300),
    field_pairs.map(ami_message),
    st.tuples(st.sampled_from(EVENT_NAMES), field_pairs).map(lambda t: ami_message([("Event", t[0]), *t[1]])),
    st.just(b"\xff\xfe\xc3\r\n\r\n"),            # not UTF-8
    st.just(b"Response: Success\r\nActionID: \r\n\r\n"),
), min_size=1, max_size=8).map(b"".join)


async def survive(garbage: bytes) -> None:
    errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    async with ScriptedAmi() as server:
        client = AmiClient("127.0.0.1", server.port, "dialer", "change-me", ping_interval=30,
                           reconnect_backoff=(0.01, 0.02), connect_timeout=1)
        seen: list[PbxEvent] = []
        client.subscribe(seen.append)
        await client.start()
        try:
            server.peer.send(garbage + b"\r\n\r\n")  # end whatever half message the garbage left open
            for _ in range(50):
                try:
                    await asyncio.wait_for(client.send(Message.of(Action="Ping")), 1)
                    break
                except PbxNotConnected:  # the garbage cost the link: it must come back by itself
                    await wait_until(lambda: client.connected, timeout=2)
            else:
                pytest.fail("the client never answered again after hostile input")
        finally:
            await client.close()
    assert errors == []
    assert seen[0] == LinkUp() and all(isinstance(e, PbxEvent.__args__) for e in seen)  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=hostile_input)
def test_hostile_input_never_crashes_the_client_and_the_link_recovers(garbage: bytes) -> None:
    asyncio.run(survive(garbage))


async def test_oversized_message_drops_the_link_and_the_client_reconnects() -> None:
    async with ScriptedAmi() as server:
        client = AmiClient("127.0.0.1", server.port, "dialer", "change-me", ping_interval=30,
                           reconnect_backoff=(0.01, 0.02), max_message_bytes=4096)
        seen: list[PbxEvent] = []
        client.subscribe(seen.append)
        await client.start()
        try:
            server.peer.send(b"Event: Hangup\r\nUniqueid: " + b"x" * 10_000)  # never ends
            await wait_until(lambda: any(isinstance(e, LinkDown) for e in seen))
            down = next(e for e in seen if isinstance(e, LinkDown))
            assert "longer than 4096 bytes" in down.reason
            await wait_until(lambda: seen[-1] == LinkUp())
            await client.send(Message.of(Action="Ping"))
        finally:
            await client.close()


def recorded_stream(name: str) -> bytes:
    lines = (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines()
    return "".join(json.loads(x)["data"] for x in lines if json.loads(x)["dir"] == "in").encode()


def typed_events(stream: bytes, cuts: list[int]) -> list[PbxEvent]:
    parser = Parser()
    out: list[PbxEvent] = []
    edges = [0, *sorted(set(cuts)), len(stream)]
    for start, end in itertools.pairwise(edges):
        for message in parser.feed(stream[start:end]):
            event = translate(message)
            if event is not None:
                out.append(event)
    return out


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_typed_events_do_not_depend_on_where_tcp_splits_the_stream(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["originate-answered", "originate-busy", "handoff-record-spy-hangup"]))
    stream = recorded_stream(name)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=40))
    assert typed_events(stream, cuts) == typed_events(stream, [])
    assert typed_events(stream, []) != []

