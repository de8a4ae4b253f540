"""AmiClient against a scripted fake Asterisk over real TCP: actions, typed events, link life."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket

import pytest

from ami.client import AmiClient, backoff
from ami.pbx import (
    CallAnswered,
    ChannelHungUp,
    ConferenceJoined,
    ConferenceLeft,
    DialEnded,
    LinkDown,
    LinkUp,
    OriginateRequest,
    OriginateResult,
    PbxAuthenticationError,
    PbxError,
    PbxEvent,
    PbxLinkLost,
    PbxNotConnected,
    SafeHarborPlayed,
)
from ami.wire import Message
from tests.ami.scripted_ami import Peer, ScriptedAmi, wait_until

SECRET = "s3cr3t-do-not-print"


def make_client(server: ScriptedAmi, **overrides: object) -> AmiClient:
    settings: dict[str, object] = dict(ping_interval=30.0, ping_timeout=0.2,
                                       reconnect_backoff=(0.02, 0.1), connect_timeout=1.0)
    settings.update(overrides)
    return AmiClient("127.0.0.1", server.port, server.username, server.secret, **settings)  # type: ignore[arg-type]


def recorder(client: AmiClient) -> list[PbxEvent]:
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    return seen


def customer(channel_id: str = "att-1", **overrides: object) -> OriginateRequest:
    fields: dict[str, object] = dict(channel="Local/15550001@pstn-sim", channel_id=channel_id,
                                     context="dialer-answered", exten="s", timeout_ms=20_000,
                                     caller_id='"Shop" <74959374955>',
                                     variables={"ATTEMPT_ID": channel_id, "LEAD_ID": "42"})
    fields.update(overrides)
    return OriginateRequest(**fields)  # type: ignore[arg-type]


async def test_start_logs_in_and_tells_subscribers_the_link_is_up() -> None:
    async with ScriptedAmi(secret=SECRET) as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            assert client.connected
            assert seen == [LinkUp()]
            login = server.actions[0]
            assert (login["Action"], login["Username"], login["Secret"]) == ("Login", "dialer", SECRET)
        finally:
            await client.close()
        assert not client.connected


async def test_wrong_secret_raises_authentication_error_once_and_never_retries() -> None:
    async with ScriptedAmi(secret="right") as server:
        client = AmiClient("127.0.0.1", server.port, "dialer", SECRET, reconnect_backoff=(0.01, 0.01))
        with pytest.raises(PbxAuthenticationError) as caught:
            await client.start()
        await asyncio.sleep(0.1)
        assert server.logins == 1
        assert "dialer" in str(caught.value) and "Authentication failed" in str(caught.value)
        assert SECRET not in str(caught.value)
        assert not client.connected


async def test_unreachable_asterisk_raises_not_connected_naming_the_address() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AmiClient("127.0.0.1", port, "dialer", SECRET, connect_timeout=1.0)
    with pytest.raises(PbxNotConnected, match=f"127.0.0.1:{port}"):
        await client.start()


async def test_login_unanswered_times_out_instead_of_hanging() -> None:
    async with ScriptedAmi() as server:
        original = server._answer

        async def silent_login(peer: Peer, action: Message) -> None:
            if action.get("Action") != "Login":
                await original(peer, action)

        server._answer = silent_login  # type: ignore[method-assign]
        client = make_client(server, connect_timeout=0.2)
        with pytest.raises(PbxNotConnected, match="did not answer Login"):
            await client.start()


async def test_originate_sends_async_channel_ids_and_variables() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        await client.start()
        try:
            await client.originate(customer("att-7"))
        finally:
            await client.close()
        sent = [a for a in server.actions if a.get("Action") == "Originate"]
        assert len(sent) == 1
        action = sent[0]
        assert action["Async"] == "true"
        assert action["ChannelId"] == "att-7"
        assert action["OtherChannelId"] == "att-7-2"
        assert action["Channel"] == "Local/15550001@pstn-sim"
        assert (action["Context"], action["Exten"], action["Priority"]) == ("dialer-answered", "s", "1")
        assert action["Timeout"] == "20000"
        assert action["CallerID"] == '"Shop" <74959374955>'
        assert sorted(action.get_all("Variable")) == ["ATTEMPT_ID=att-7", "LEAD_ID=42"]
        assert action.action_id


async def test_originate_of_an_application_sends_application_and_data() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        await client.start()
        try:
            await client.originate(OriginateRequest(channel="Local/s@hold", channel_id="spy-1",
                                                    application="ChanSpy", data="Local/101@operators,qw"))
        finally:
            await client.close()
        action = server.actions[-1]
        assert (action["Application"], action["Data"]) == ("ChanSpy", "Local/101@operators,qw")
        assert "Context" not in action


async def test_refused_originate_raises_pbx_error_with_asterisks_message() -> None:
    async def forbid(peer: Peer, action: Message) -> None:
        peer.refuse(action, "Originate Access Forbidden: app or data blacklisted")

    async with ScriptedAmi(respond=forbid) as server:
        client = make_client(server)
        await client.start()
        try:
            with pytest.raises(PbxError, match="Originate Access Forbidden") as caught:
                await client.originate(customer())
            assert caught.value.action == "Originate"
            assert not isinstance(caught.value, PbxNotConnected)
            assert client.connected
        finally:
            await client.close()


async def test_field_with_line_break_is_refused_before_anything_is_sent() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        await client.start()
        try:
            with pytest.raises(PbxError, match="line break"):
                await client.originate(customer(variables={"NAME": "x\r\nAction: Hangup"}))
            assert server.count("Originate") == 0
            assert server.count("Hangup") == 0
        finally:
            await client.close()


def call_events(channel_id: str, action_id: str) -> list[Message]:
    return [
        Message.of(Event="DialEnd", Privilege="call,all", DestUniqueid=channel_id, DialStatus="ANSWER"),
        Message.of(Event="OriginateResponse", Privilege="call,all", ActionID=action_id, Response="Success",
                   Channel="Local/15550001@pstn-sim-00000004;1", Reason=4, Uniqueid=channel_id),
        Message.of(Event="UserEvent", Privilege="user,all", Uniqueid=channel_id, UserEvent="DialerAnswered",
                   AttemptId=channel_id, AmdStatus="MACHINE"),
        Message.of(Event="ConfbridgeJoin", Conference="op101", Uniqueid=channel_id),
        Message.of(Event="ConfbridgeLeave", Conference="op101", Uniqueid=channel_id),
        Message.of(Event="Hangup", Uniqueid=channel_id, Cause=16, **{"Cause-txt": "Normal Clearing"}),
        Message.of(Event="Newexten", Uniqueid=channel_id),  # not for the engine: no typed event
    ]


async def test_events_of_a_call_arrive_typed_and_in_order_including_originate_response() -> None:
    async def queue_and_play(peer: Peer, action: Message) -> None:
        # The Response and every event in one TCP write: OriginateResponse must not be eaten by the
        # pending Originate (panoramisk 1.4 did that).
        peer.send(Message.of(Response="Success", ActionID=action.action_id or "",
                             Message="Originate successfully queued"),
                  *call_events(action["ChannelId"], action.action_id or ""))

    async with ScriptedAmi(respond=queue_and_play) as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            await client.originate(customer("att-9"))
            await wait_until(lambda: len(seen) >= 7)
        finally:
            await client.close()
        assert seen == [
            LinkUp(),
            DialEnded("att-9", "ANSWER"),
            OriginateResult("att-9", success=True, reason=4),
            CallAnswered("att-9", amd_status="MACHINE"),
            ConferenceJoined("op101", "att-9"),
            ConferenceLeft("op101", "att-9"),
            ChannelHungUp("att-9", 16, "Normal Clearing"),
        ]


async def test_originate_response_without_uniqueid_is_matched_by_action_id() -> None:
    async def fail_at_once(peer: Peer, action: Message) -> None:
        peer.respond(action, Message="Originate successfully queued")
        peer.send(Message.of(Event="OriginateResponse", ActionID=action.action_id or "", Response="Failure",
                             Channel="Local/99@nosuchcontext", Reason=0, Uniqueid="<unknown>"))

    async with ScriptedAmi(respond=fail_at_once) as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            await client.originate(customer("att-bad"))
            await wait_until(lambda: len(seen) == 2)
        finally:
            await client.close()
        assert seen[1] == OriginateResult("att-bad", success=False, reason=0)


async def test_a_failing_subscriber_does_not_stop_the_others_or_the_link() -> None:
    async def queue_and_play(peer: Peer, action: Message) -> None:
        peer.respond(action, Message="Originate successfully queued")
        peer.send(*call_events(action["ChannelId"], action.action_id or ""))

    async with ScriptedAmi(respond=queue_and_play) as server:
        client = make_client(server)

        def broken(event: PbxEvent) -> None:
            raise RuntimeError("subscriber bug")

        client.subscribe(broken)
        seen = recorder(client)
        await client.start()
        try:
            await client.originate(customer("att-3"))
            await wait_until(lambda: any(isinstance(e, ChannelHungUp) for e in seen))
            assert client.connected
            await client.send(Message.of(Action="Ping"))
        finally:
            await client.close()


def list_answer(peer: Peer, action: Message, item_event: str, items: list[dict[str, str | int | list[str]]],
                complete_event: str) -> None:
    action_id = action.action_id or ""
    peer.send(Message.of(Response="Success", ActionID=action_id, EventList="start",
                         Message="Channels will follow"))
    # An unrelated event in the middle of the list must still reach subscribers.
    peer.send(Message.of(Event="Hangup", Uniqueid="other-call", Cause=17))
    for fields in items:
        peer.send(Message.of(Event=item_event, ActionID=action_id, **fields))
    peer.send(Message.of(Event=complete_event, ActionID=action_id, EventList="Complete",
                         ListItems=len(items)))


async def test_list_channels_collects_items_until_complete_and_still_delivers_other_events() -> None:
    async def show(peer: Peer, action: Message) -> None:
        list_answer(peer, action, "CoreShowChannel", [
            dict(Channel="Local/1@pstn-sim-0000000d;1", Uniqueid="att-1", Context="dialer-answered",
                 Exten="s", ChannelStateDesc="Up", Application="Wait", Duration="00:01:05"),
            dict(Channel="Local/1@pstn-sim-0000000d;2", Uniqueid="att-1-2", Context="pstn-sim",
                 Exten="1", ChannelStateDesc="Up", Application="Wait", Duration="00:00:07"),
        ], "CoreShowChannelsComplete")

    async with ScriptedAmi(respond=show) as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            channels = await client.list_channels()
        finally:
            await client.close()
        assert [(c.channel_id, c.state, c.context, c.duration_s) for c in channels] == [
            ("att-1", "Up", "dialer-answered", 65), ("att-1-2", "Up", "pstn-sim", 7)]
        assert ChannelHungUp("other-call", 17) in seen


async def test_status_asks_for_variables_and_returns_them_per_channel() -> None:
    async def status(peer: Peer, action: Message) -> None:
        list_answer(peer, action, "Status", [
            dict(Channel="Local/1@pstn-sim-0000000d;1", Uniqueid="att-1", ChannelStateDesc="Up",
                 Context="dialer-answered", Exten="s", Seconds=5, Variable=["ATTEMPT_ID=att-1"]),
            dict(Channel="Local/1@pstn-sim-0000000d;2", Uniqueid="att-1-2", ChannelStateDesc="Up",
                 Context="pstn-sim", Exten="1", Seconds=5, Variable=["ATTEMPT_ID="]),
        ], "StatusComplete")

    async with ScriptedAmi(respond=status) as server:
        client = make_client(server)
        await client.start()
        try:
            rows = await client.status(variables=["ATTEMPT_ID"])
        finally:
            await client.close()
        assert server.actions[-1]["Variables"] == "ATTEMPT_ID"
        assert [(r.channel_id, r.variables, r.seconds) for r in rows] == [
            ("att-1", {"ATTEMPT_ID": "att-1"}, 5), ("att-1-2", {"ATTEMPT_ID": ""}, 5)]


async def test_confbridge_list_of_an_empty_conference_is_an_empty_list() -> None:
    async def confbridge(peer: Peer, action: Message) -> None:
        if action["Conference"] == "op101":
            list_answer(peer, action, "ConfbridgeList", [
                dict(Conference="op101", Channel="Local/101@operators-00000009;2", Uniqueid="op101-phone-2",
                     AnsweredTime=11)], "ConfbridgeListComplete")
        else:
            peer.refuse(action, "No Conference by that name found.")

    async with ScriptedAmi(respond=confbridge) as server:
        client = make_client(server)
        await client.start()
        try:
            members = await client.confbridge_list("op101")
            assert await client.confbridge_list("op102") == []
        finally:
            await client.close()
        assert [(m.conference, m.channel_id, m.answered_s) for m in members] == [("op101", "op101-phone-2", 11)]


async def test_regex_hangup_waits_for_the_hung_up_list_and_plain_hangup_does_not() -> None:
    async def hangup(peer: Peer, action: Message) -> None:
        if action["Channel"].startswith("/"):
            list_answer(peer, action, "ChannelHungup", [dict(Channel="Local/1@pstn-sim-0000000d;1")],
                        "ChannelsHungupListComplete")
        else:
            peer.respond(action, Message="Channel Hungup")

    async with ScriptedAmi(respond=hangup) as server:
        client = make_client(server)
        await client.start()
        try:
            await asyncio.wait_for(client.hangup("/^Local/.*/"), 1)
            await asyncio.wait_for(client.hangup("att-1", cause=17), 1)
        finally:
            await client.close()
        assert [(a["Channel"], a["Cause"]) for a in server.actions[1:]] == [("/^Local/.*/", "16"),
                                                                            ("att-1", "17")]


async def test_redirect_addresses_the_channel_by_its_channel_id() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        await client.start()
        try:
            await client.redirect("att-1", "operator-join", "101")
        finally:
            await client.close()
        action = server.actions[-1]
        assert [(k, v) for k, v in action.pairs if k != "ActionID"] == [
            ("Action", "Redirect"), ("Channel", "att-1"), ("Context", "operator-join"), ("Exten", "101"),
            ("Priority", "1")]


async def test_link_loss_fails_pending_action_then_reconnects_and_reports_link_up() -> None:
    async def vanish(peer: Peer, action: Message) -> None:
        peer.drop()

    async with ScriptedAmi(respond=vanish) as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            with pytest.raises(PbxLinkLost, match="will not be resent"):
                await asyncio.wait_for(client.redirect("att-1", "operator-join", "101"), 1)
            assert seen[:2] == [LinkUp(), LinkDown(reason="Asterisk closed the connection")]
            await wait_until(lambda: seen[-1] == LinkUp())
            assert client.connected and client.reconnects == 1
            assert server.logins == 2
        finally:
            await client.close()


async def test_actions_during_an_outage_fail_at_once_and_are_never_sent_later() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server, reconnect_backoff=(0.2, 0.2))
        seen = recorder(client)
        await client.start()
        try:
            server.peer.drop()
            await wait_until(lambda: not client.connected)
            with pytest.raises(PbxNotConnected, match="not sent"):
                await asyncio.wait_for(client.originate(customer()), 0.05)
            with pytest.raises(PbxNotConnected):
                await client.list_channels()
            await wait_until(lambda: seen[-1] == LinkUp())
            await asyncio.sleep(0.05)
            assert server.count("Originate") == 0
            assert server.count("CoreShowChannels") == 0
        finally:
            await client.close()


async def test_reconnect_keeps_trying_while_asterisk_is_down_and_succeeds_when_it_returns() -> None:
    async with ScriptedAmi() as first:
        port = first.port
        client = AmiClient("127.0.0.1", port, "dialer", "change-me", reconnect_backoff=(0.02, 0.05),
                           ping_interval=30)
        seen = recorder(client)
        await client.start()
    # The server is gone (closed by the context manager): the client retries on its own.
    await wait_until(lambda: LinkDown in {type(e) for e in seen})
    await asyncio.sleep(0.15)
    assert not client.connected
    try:
        async with ScriptedAmi(port=port):
            await wait_until(lambda: seen[-1] == LinkUp(), timeout=2)
            assert client.reconnects == 1
    finally:
        await client.close()


def test_backoff_doubles_from_min_up_to_max() -> None:
    assert list(itertools.islice(backoff(0.5, 30.0), 9)) == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


async def test_half_open_link_is_noticed_by_unanswered_ping_and_rebuilt() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server, ping_interval=0.05, ping_timeout=0.3)
        seen = recorder(client)
        await client.start()
        try:
            await asyncio.sleep(0.12)
            assert server.count("Ping") >= 1 and client.connected  # answered pings keep it up
            server.peer.mute = True  # the peer is gone without a FIN: nothing answers any more
            await wait_until(lambda: any(isinstance(e, LinkDown) for e in seen))
            down = next(e for e in seen if isinstance(e, LinkDown))
            assert "Ping" in down.reason and "half-open" in down.reason
            await wait_until(lambda: seen[-1] == LinkUp())
            assert len(server.peers) == 2
        finally:
            await client.close()


async def test_re_login_refused_after_a_drop_gives_up_with_a_permanent_link_down() -> None:
    async with ScriptedAmi(secret="change-me") as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            server.secret = "rotated"
            server.peer.drop()
            await wait_until(lambda: any(isinstance(e, LinkDown) and e.permanent for e in seen))
            await asyncio.sleep(0.2)
            assert server.logins == 2  # one refused re-login, then silence
            assert isinstance(client.failure, PbxAuthenticationError)
            assert not client.connected
        finally:
            await client.close()


async def test_close_fails_pending_actions_and_stops_reconnecting() -> None:
    async def never_answer(peer: Peer, action: Message) -> None:
        return None

    async with ScriptedAmi(respond=never_answer) as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        pending = asyncio.create_task(client.list_channels())
        await wait_until(lambda: server.count("CoreShowChannels") == 1)
        await client.close()
        with pytest.raises(PbxLinkLost):
            await pending
        await asyncio.sleep(0.1)
        assert server.logins == 1
        assert seen == [LinkUp()]


async def test_secret_never_appears_in_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with ScriptedAmi(secret=SECRET) as server:
        client = make_client(server)
        await client.start()
        texts = [repr(client), str(client.__dict__)]
        server.peer.drop()
        await wait_until(lambda: client.reconnects == 1)
        await client.close()
        wrong = AmiClient("127.0.0.1", server.port, "dialer", SECRET + "x")
        with pytest.raises(PbxAuthenticationError) as caught:
            await wrong.start()
        texts += [str(caught.value), repr(caught.value), repr(wrong), str(vars(wrong))]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    assert any("AMI logged in" in t for t in texts)  # the log was really captured
    assert not [t for t in texts if SECRET in t]


async def test_a_server_that_is_not_ami_is_reported_at_once_not_after_the_login_timeout() -> None:
    async def http_like(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await reader.read(1000)

    server = await asyncio.start_server(http_like, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = AmiClient("127.0.0.1", port, "dialer", SECRET, connect_timeout=5)
        started = asyncio.get_running_loop().time()
        with pytest.raises(PbxNotConnected, match="not an AMI server"):
            await client.start()
        assert asyncio.get_running_loop().time() - started < 1
    finally:
        server.close()


async def test_events_received_counts_every_ami_event_typed_or_not() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        await client.start()
        try:
            server.peer.send(*call_events("att-1", "x"))
            await wait_until(lambda: client.events_received == len(call_events("att-1", "x")))
        finally:
            await client.close()


def test_secret_with_a_line_break_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="line break") as caught:
        AmiClient("127.0.0.1", 5038, "dialer", "abc\r\nAction: Originate")
    assert "abc" not in str(caught.value)


async def test_client_as_async_context_manager_logs_in_and_closes() -> None:
    async with ScriptedAmi() as server:
        async with make_client(server) as client:
            assert client.connected
        assert not client.connected
        await asyncio.sleep(0.05)
        assert server.logins == 1


async def test_safe_harbor_user_event_becomes_safe_harbor_played() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            server.peer.send(Message.of(Event="UserEvent", Privilege="user,all", Uniqueid="att-5",
                                        UserEvent="DialerSafeHarborPlayed", AttemptId="5"),
                             Message.of(Event="UserEvent", Uniqueid="att-5", UserEvent="SomethingElse"))
            await client.send(Message.of(Action="Ping"))
        finally:
            await client.close()
        assert seen[1:] == [SafeHarborPlayed("att-5")]
