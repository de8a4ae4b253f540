"""AmiClient while Asterisk stops gracefully: every action, Login included, gets "Asterisk is shutting down".

That is not a wrong secret: the client must keep reconnecting with back-off, say why in the log, and
tell the engine that nothing it asks is carried out (recordings: shutdown-gracefully-*.jsonl).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from ami.pbx import LinkDown, LinkUp, PbxAuthenticationError, PbxNotConnected, PbxShuttingDown
from ami.wire import Message
from tests.ami.scripted_ami import Peer, ScriptedAmi, wait_until
from tests.ami.test_client import customer, make_client, recorder


async def test_a_login_refused_because_asterisk_is_shutting_down_is_retried_until_it_is_back(
        caplog: pytest.LogCaptureFixture) -> None:
    async with ScriptedAmi() as server:
        client = make_client(server, reconnect_backoff=(0.02, 0.05))
        seen = recorder(client)
        await client.start()
        try:
            server.refuse_logins = "Asterisk is shutting down"
            server.peer.drop()
            await wait_until(lambda: server.failed_logins >= 3)
            assert not any(isinstance(e, LinkDown) and e.permanent for e in seen)
            assert client.failure is None and not client.connected
            server.refuse_logins = None           # Asterisk restarted
            await wait_until(lambda: seen[-1] == LinkUp())
            assert client.connected and client.reconnects == 1
        finally:
            await client.close()
    assert any("shutting down" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


async def test_a_login_refused_because_asterisk_is_shutting_down_at_start_is_not_an_authentication_error(
        ) -> None:
    async with ScriptedAmi() as server:
        server.refuse_logins = "Asterisk is shutting down"
        client = make_client(server)
        with pytest.raises(PbxShuttingDown, match="shutting down") as caught:
            await client.start()
        assert not isinstance(caught.value, PbxAuthenticationError)
        assert isinstance(caught.value, PbxNotConnected)


async def test_an_originate_refused_because_asterisk_is_shutting_down_was_not_carried_out() -> None:
    """The engine reads PbxNotConnected as "never dialed"; and no further call is asked of a stopping PBX."""
    def refuse(peer: Peer, action: Message) -> None:
        peer.refuse(action, "Asterisk is shutting down")

    async with ScriptedAmi(respond=refuse) as server:
        client = make_client(server)
        await client.start()
        try:
            assert client.connected
            with pytest.raises(PbxShuttingDown):
                await client.originate(customer())
            assert not client.connected
            await asyncio.sleep(0)
            assert server.peer.logged_in      # the link itself stays: events of the calls up still come
        finally:
            await client.close()


async def test_a_login_refused_for_another_reason_than_authentication_is_retried() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server, reconnect_backoff=(0.02, 0.05))
        seen = recorder(client)
        await client.start()
        try:
            server.refuse_logins = "Too many sessions"
            server.peer.drop()
            await wait_until(lambda: server.failed_logins >= 2)
            server.refuse_logins = None
            await wait_until(lambda: seen[-1] == LinkUp())
            assert client.failure is None
        finally:
            await client.close()


async def test_a_wrong_secret_still_gives_up_for_good() -> None:
    async with ScriptedAmi() as server:
        client = make_client(server)
        seen = recorder(client)
        await client.start()
        try:
            server.secret = "rotated"
            server.peer.drop()
            await wait_until(lambda: any(isinstance(e, LinkDown) and e.permanent for e in seen))
            assert isinstance(client.failure, PbxAuthenticationError)
        finally:
            await client.close()
