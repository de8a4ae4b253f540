"""The defects of panoramisk 1.4 that a dialer cannot live with, and why our client does not have them.

For each defect: a test that runs OUR client (ami.client.AmiClient) against a scripted fake Asterisk over
real TCP and asserts the safe behaviour; where it is cheap, a test named ``test_panoramisk_1_4_...`` that
runs panoramisk itself against the same fake server and shows the defect (why we replaced its connection
layer: see the README's dependency section). If a panoramisk upgrade fixes one, its test fails: then
read the new source before trusting it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from panoramisk import Manager

from ami.client import AmiClient
from ami.pbx import (
    ChannelHungUp,
    LinkDown,
    LinkUp,
    OriginateRequest,
    OriginateResult,
    PbxAuthenticationError,
    PbxEvent,
    PbxLinkLost,
    PbxNotConnected,
)
from ami.wire import Message
from tests.ami.scripted_ami import Peer, ScriptedAmi, wait_until

CALL = OriginateRequest(channel="Local/15550001@pstn-sim", channel_id="att-1", context="dialer-answered",
                        exten="s", variables={"ATTEMPT_ID": "att-1"})
PANORAMISK_ORIGINATE = {"Action": "Originate", "Channel": "Local/15550001@pstn-sim",
                        "Context": "dialer-answered", "Exten": "s", "Priority": "1"}


def queued(peer: Peer, action: Message) -> None:
    peer.respond(action, Message="Originate successfully queued")


def originate_response(action: Message, reason: int = 4) -> Message:
    return Message.of(Event="OriginateResponse", Privilege="call,all", ActionID=action.action_id or "",
                      Response="Success" if reason == 4 else "Failure",
                      Channel="Local/15550001@pstn-sim-00000004;1", Reason=reason,
                      Uniqueid=action.get("ChannelId") or "1795752320.16")


@contextlib.asynccontextmanager
async def our_client(server: ScriptedAmi, **overrides: float | tuple[float, float]
                     ) -> AsyncIterator[tuple[AmiClient, list[PbxEvent]]]:
    settings: dict[str, float | tuple[float, float]] = dict(
        ping_interval=30.0, ping_timeout=0.2, reconnect_backoff=(0.02, 0.1), connect_timeout=1.0)
    settings.update(overrides)
    client = AmiClient("127.0.0.1", server.port, server.username, server.secret,
                       **settings)  # type: ignore[arg-type]
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    await client.start()
    try:
        yield client, seen
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def panoramisk(server: ScriptedAmi, *, reconnect_timeout: int = 3600,
                     secret: str | None = None) -> AsyncIterator[Manager]:
    manager = Manager(loop=asyncio.get_running_loop(), host="127.0.0.1", port=server.port,
                      username=server.username, secret=secret or server.secret,
                      ping_delay=3600, ping_interval=3600, reconnect_timeout=reconnect_timeout)
    await manager.connect()
    try:
        yield manager
    finally:
        manager.reconnect_timeout = 3600  # no reconnect loop after the test
        manager.close()


# ---- 1. Originate without an Async header ------------------------------------------------------

async def test_originate_always_sends_async_true_and_the_link_survives_the_answer() -> None:
    def respond(peer: Peer, action: Message) -> None:
        queued(peer, action)
        peer.send(originate_response(action))

    async with ScriptedAmi(respond=respond) as server, our_client(server) as (client, seen):
        await asyncio.wait_for(client.originate(CALL), 1)
        assert server.actions[-1]["Async"] == "true"
        await wait_until(lambda: OriginateResult("att-1", True, 4) in seen)
        assert client.connected and len(server.peers) == 1


async def test_panoramisk_1_4_originate_without_async_kills_the_connection() -> None:
    async with ScriptedAmi(respond=queued) as server, panoramisk(server) as manager:
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        future = manager.send_action(dict(PANORAMISK_ORIGINATE))  # no Async header
        # Action.multi reads action['async'] → KeyError inside data_received → transport closed.
        await wait_until(lambda: server.peer.closed.is_set())
        assert not future.done()


# ---- 2. "Async: False" with a capital ------------------------------------------------------------

async def test_originate_returns_when_asterisk_queued_it_without_waiting_for_more() -> None:
    async with ScriptedAmi(respond=queued) as server, our_client(server) as (client, _):
        await asyncio.wait_for(client.originate(CALL), 0.5)


async def test_panoramisk_1_4_async_false_with_capital_waits_forever() -> None:
    async with ScriptedAmi(respond=queued) as server, panoramisk(server) as manager:
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        future = manager.send_action(dict(PANORAMISK_ORIGINATE, Async="False"))
        await wait_until(lambda: server.count("Originate") == 1)
        await asyncio.sleep(0.2)  # the Response arrived long ago
        assert not future.done()  # 'False' != 'false': it waits for a list end that never comes


# ---- 3. OriginateResponse swallowed by the pending action -----------------------------------------

async def test_originate_response_reaches_subscribers_even_in_the_same_read_as_the_response() -> None:
    def respond(peer: Peer, action: Message) -> None:
        peer.send(Message.of(Response="Success", ActionID=action.action_id or "",
                             Message="Originate successfully queued"), originate_response(action, 5))

    async with ScriptedAmi(respond=respond) as server, our_client(server) as (client, seen):
        await client.originate(CALL)
        await wait_until(lambda: OriginateResult("att-1", False, 5) in seen)


async def test_panoramisk_1_4_swallows_originate_response_into_the_pending_action() -> None:
    def respond(peer: Peer, action: Message) -> None:
        queued(peer, action)
        peer.send(originate_response(action))

    async with ScriptedAmi(respond=respond) as server, panoramisk(server) as manager:
        heard: list[object] = []
        manager.register_event("OriginateResponse", lambda _manager, event: heard.append(event))
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        result = await asyncio.wait_for(manager.send_action(dict(PANORAMISK_ORIGINATE, Async="true")), 1)
        assert len(result) == 2  # the event went into the action's result ...
        await asyncio.sleep(0.05)
        assert heard == []       # ... and never to the listeners


# ---- 4. OriginateResponse lost in a disconnect ---------------------------------------------------

async def test_originate_in_flight_when_the_link_drops_fails_at_once_instead_of_hanging() -> None:
    async def vanish(peer: Peer, action: Message) -> None:
        peer.drop()

    async with ScriptedAmi(respond=vanish) as server, our_client(server) as (client, seen):
        with pytest.raises(PbxLinkLost, match="may or may not"):
            await asyncio.wait_for(client.originate(CALL), 1)
        assert any(isinstance(e, LinkDown) for e in seen)


async def test_queued_originate_whose_response_is_lost_leaves_nothing_pending() -> None:
    def queue_then_vanish(peer: Peer, action: Message) -> None:
        queued(peer, action)
        peer.writer.transport.close()  # flush the Response, then the link is gone

    async with ScriptedAmi(respond=queue_then_vanish) as server, our_client(server) as (client, seen):
        await asyncio.wait_for(client.originate(CALL), 1)  # it returned: the outcome is an event
        await wait_until(lambda: seen[-1] == LinkUp() and client.reconnects == 1)


async def test_panoramisk_1_4_originate_future_pending_forever_after_a_drop() -> None:
    def queue_then_vanish(peer: Peer, action: Message) -> None:
        queued(peer, action)
        peer.writer.transport.close()

    async with ScriptedAmi(respond=queue_then_vanish) as server, panoramisk(server) as manager:
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        future = manager.send_action(dict(PANORAMISK_ORIGINATE, Async="true"))
        await wait_until(lambda: server.peer.closed.is_set())
        await asyncio.sleep(0.1)
        assert not future.done()


# ---- 5. An un-acknowledged Originate sent again after reconnect: a second call ---------------------

def drop_first_originate(server: ScriptedAmi):  # type: ignore[no-untyped-def]
    def respond(peer: Peer, action: Message) -> None:
        if action.get("Action") == "Originate" and server.count("Originate") == 1:
            peer.drop()  # the Originate arrived, the answer never leaves
        else:
            queued(peer, action)
    return respond


async def test_originate_unacknowledged_at_a_drop_is_never_sent_again() -> None:
    server = ScriptedAmi(fully_booted=True)  # FullyBooted is what triggers panoramisk's resend
    server.respond = drop_first_originate(server)
    async with server, our_client(server) as (client, seen):
        with pytest.raises(PbxLinkLost):
            await asyncio.wait_for(client.originate(CALL), 1)
        await wait_until(lambda: seen[-1] == LinkUp() and client.reconnects == 1)
        await asyncio.sleep(0.1)
        assert server.count("Originate") == 1


async def test_panoramisk_1_4_resends_unacknowledged_originate_after_reconnect() -> None:
    server = ScriptedAmi(fully_booted=True)
    server.respond = drop_first_originate(server)
    async with server, panoramisk(server, reconnect_timeout=0) as manager:
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        manager.send_action(dict(PANORAMISK_ORIGINATE, Async="true"))
        await wait_until(lambda: server.count("Originate") == 2)  # the same person is called twice
        assert len(server.peers) == 2


# ---- 6. Half-open connection never noticed -------------------------------------------------------
# panoramisk 1.4's Manager.ping sends Ping every ping_interval and never looks at the answer (and its
# intervals are whole seconds), so no cheap demonstration here; ours:

async def test_unanswered_ping_drops_the_half_open_link_and_reconnects() -> None:
    async with ScriptedAmi() as server, our_client(server, ping_interval=0.05, ping_timeout=0.3) as (client, seen):
        server.peer.mute = True
        await wait_until(lambda: any(isinstance(e, LinkDown) and "half-open" in e.reason for e in seen))
        await wait_until(lambda: seen[-1] == LinkUp())
        assert client.connected and len(server.peers) == 2


# ---- 7. A wrong secret raises nothing and retries forever -----------------------------------------

async def test_wrong_secret_raises_and_is_tried_exactly_once() -> None:
    async with ScriptedAmi(secret="right") as server:
        client = AmiClient("127.0.0.1", server.port, "dialer", "wrong", reconnect_backoff=(0.01, 0.01))
        with pytest.raises(PbxAuthenticationError):
            await client.start()
        await asyncio.sleep(0.2)
        assert server.logins == 1


async def test_panoramisk_1_4_wrong_secret_raises_nothing_and_logs_in_again_and_again() -> None:
    async with ScriptedAmi(secret="right") as server, panoramisk(server, reconnect_timeout=0, secret="wrong"):
        await wait_until(lambda: server.failed_logins >= 3)


# ---- 8. UTF-8 character split across two TCP reads ----------------------------------------------

HANGUP = Message.of(Event="Hangup", Uniqueid="att-1", Cause=16, **{"Cause-txt": "Réseau occupé"}).to_bytes()
SPLIT = HANGUP.index("é".encode()) + 1  # between the two bytes of 'é'


async def send_split(peer: Peer) -> None:
    peer.send(HANGUP[:SPLIT])
    await asyncio.sleep(0.05)  # two separate reads on the client side
    peer.send(HANGUP[SPLIT:])


async def test_utf8_character_split_across_reads_arrives_intact() -> None:
    async with ScriptedAmi() as server, our_client(server) as (_, seen):
        await send_split(server.peer)
        await wait_until(lambda: len(seen) == 2)
        assert seen[1] == ChannelHungUp("att-1", 16, "Réseau occupé")


async def test_panoramisk_1_4_mangles_utf8_split_across_reads() -> None:
    async with ScriptedAmi() as server, panoramisk(server) as manager:
        heard: list[str] = []
        manager.register_event("Hangup", lambda _manager, event: heard.append(event["Cause-txt"]))
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        await send_split(server.peer)
        await wait_until(lambda: bool(heard))
        assert heard != ["Réseau occupé"]


# ---- 9. Actions queue silently during an outage and go out late -----------------------------------

async def test_actions_during_an_outage_raise_not_connected_and_never_go_out() -> None:
    async with ScriptedAmi() as server, our_client(server, reconnect_backoff=(0.2, 0.2)) as (client, seen):
        server.peer.drop()
        await wait_until(lambda: not client.connected)
        with pytest.raises(PbxNotConnected, match="never queued"):
            await asyncio.wait_for(client.originate(CALL), 0.05)
        await wait_until(lambda: seen[-1] == LinkUp())
        await asyncio.sleep(0.05)
        assert server.count("Originate") == 0


# ---- 10. Queued actions wait for FullyBooted, which a least-privilege user never gets --------------

async def test_actions_go_out_at_once_after_login_without_fully_booted() -> None:
    async with ScriptedAmi(fully_booted=False, respond=queued) as server, our_client(server) as (client, _):
        await asyncio.wait_for(client.originate(CALL), 0.5)
        assert server.count("Originate") == 1


async def test_panoramisk_1_4_keeps_an_action_waiting_for_fully_booted_forever() -> None:
    server = ScriptedAmi(fully_booted=False)
    server.respond = drop_first_originate(server)
    async with server, panoramisk(server, reconnect_timeout=0) as manager:
        await wait_until(lambda: bool(server.peers) and server.peer.logged_in)
        future = manager.send_action(dict(PANORAMISK_ORIGINATE, Async="true"))
        await wait_until(lambda: len(server.peers) == 2 and server.peer.logged_in)
        await asyncio.sleep(0.1)
        assert len(manager.awaiting_actions) == 1 and not future.done()
