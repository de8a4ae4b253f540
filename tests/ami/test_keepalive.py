"""The keep-alive judges the peer, not our own event loop: a Pong that reached us in time but was read late
(our loop blocked, or busy reading the events queued ahead of it) is not a half-open link. A peer that has
really gone silent is still dropped (tests/ami/test_client.py)."""

from __future__ import annotations

import time

from ami.client import AmiClient
from ami.pbx import LinkDown, PbxEvent
from ami.wire import Message
from tests.ami.scripted_ami import Peer, ScriptedAmi, wait_until

TIMEOUT = 0.2


def client_of(server: ScriptedAmi) -> tuple[AmiClient, list[PbxEvent]]:
    client = AmiClient("127.0.0.1", server.port, server.username, server.secret, ping_interval=0.05,
                       ping_timeout=TIMEOUT, reconnect_backoff=(0.02, 0.1), connect_timeout=1.0)
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    return client, seen


async def test_a_pong_answered_in_time_while_our_loop_was_blocked_keeps_the_link() -> None:
    async with ScriptedAmi() as server:
        client, seen = client_of(server)
        blocked: list[float] = []

        def block_our_loop(peer: Peer) -> None:
            if not blocked:      # once: the Pong is on its way, and the whole process stalls (a busy host)
                blocked.append(time.monotonic())
                time.sleep(3 * TIMEOUT)

        await client.start()
        try:
            server.after_pong = block_our_loop
            pings = server.count("Ping")
            await wait_until(lambda: bool(blocked) and server.count("Ping") >= pings + 4)
            assert not any(isinstance(e, LinkDown) for e in seen), seen
            assert client.connected and len(server.peers) == 1
        finally:
            await client.close()


async def test_a_pong_queued_behind_events_we_read_slowly_keeps_the_link() -> None:
    """The peer answers at once, but its Pong comes after a burst of events that takes us longer than the
    timeout to read: every byte heard says the peer is there."""
    async with ScriptedAmi() as server:
        client, seen = client_of(server)
        filler = "x" * 900
        bursts: list[int] = []

        def events_first(peer: Peer) -> None:
            if not bursts:
                bursts.append(1)
                peer.send(*(Message.of(Event="VarSet", Channel=f"PJSIP/t-{i}", Variable="PAD", Value=filler)
                            for i in range(400)))

        def slow_reader(message: Message) -> None:
            if message.event == "VarSet":
                time.sleep(0.002)     # 400 events: 0.8 s of reading, in 64 KB chunks, 4 × the timeout

        client.subscribe_raw(slow_reader)
        await client.start()
        try:
            server.before_pong = events_first
            pings = server.count("Ping")
            await wait_until(lambda: bool(bursts) and server.count("Ping") >= pings + 4, timeout=5)
            assert not any(isinstance(e, LinkDown) for e in seen), seen
            assert client.connected and len(server.peers) == 1
        finally:
            await client.close()
