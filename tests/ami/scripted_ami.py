"""A scripted fake Asterisk for client tests: real TCP on 127.0.0.1, port 0, behaviour set per test.

It answers Login (checking the secret) and Ping by itself, records every action it receives, and lets a
test answer other actions (``respond``), push raw bytes, stop answering (a half-open peer) or drop the
connection. It knows no call model: that is the PBX simulator's job (ami/simulator/).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from ami.wire import Message, Parser

BANNER = b"Asterisk Call Manager/11.0.0\r\n"

Responder = Callable[["Peer", Message], Awaitable[None] | None]


class Peer:
    """One client connection as the fake server sees it."""

    def __init__(self, server: ScriptedAmi, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.mute = False          # stop answering anything (the client sees a half-open link)
        self.logged_in = False
        self.closed = asyncio.Event()

    def send(self, *messages: Message | bytes) -> None:
        for message in messages:
            self.writer.write(message if isinstance(message, bytes) else message.to_bytes())

    def respond(self, action: Message, **fields: str | int) -> None:
        self.send(Message.of(Response="Success", ActionID=action.action_id or "", **fields))

    def refuse(self, action: Message, text: str) -> None:
        self.send(Message.of(Response="Error", ActionID=action.action_id or "", Message=text))

    def drop(self) -> None:
        self.writer.transport.abort()


class ScriptedAmi:
    def __init__(self, *, username: str = "dialer", secret: str = "change-me",
                 respond: Responder | None = None, fully_booted: bool = False,
                 close_after_failed_login: bool = True, port: int = 0) -> None:
        self._port = port
        self.username = username
        self.secret = secret
        self.respond = respond
        self.fully_booted = fully_booted
        self.close_after_failed_login = close_after_failed_login
        # Refuse every Login with this text, keeping the socket open ("Asterisk is shutting down" during
        # `core stop gracefully`).
        self.refuse_logins: str | None = None
        # Called right before and right after a Pong is written: a test sends events ahead of it, or blocks
        # the event loop once it is on its way (the client's loop late, not the peer).
        self.before_pong: Callable[[Peer], None] | None = None
        self.after_pong: Callable[[Peer], None] | None = None
        self.actions: list[Message] = []
        self.peers: list[Peer] = []
        self.logins = 0
        self.failed_logins = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for peer in self.peers:
            peer.drop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def peer(self) -> Peer:
        """The latest connection."""
        return self.peers[-1]

    def count(self, action_name: str) -> int:
        return sum(1 for a in self.actions if (a.get("Action") or "").lower() == action_name.lower())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(self, writer)
        self.peers.append(peer)
        parser = Parser(expect_banner=False)
        writer.write(BANNER)
        try:
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.actions.append(action)
                    if not peer.mute:
                        await self._answer(peer, action)
        except (ConnectionError, OSError):
            pass
        finally:
            peer.closed.set()
            writer.transport.abort()

    async def _answer(self, peer: Peer, action: Message) -> None:
        name = (action.get("Action") or "").lower()
        if name == "login":
            self.logins += 1
            if self.refuse_logins is not None:
                self.failed_logins += 1
                peer.refuse(action, self.refuse_logins)
                return
            if action.get("Username") == self.username and action.get("Secret") == self.secret:
                peer.logged_in = True
                peer.respond(action, Message="Authentication accepted")
                if self.fully_booted:
                    peer.send(Message.of(Event="FullyBooted", Privilege="system,all", Status="Fully Booted"))
            else:
                self.failed_logins += 1
                peer.refuse(action, "Authentication failed")
                if self.close_after_failed_login:
                    peer.drop()
            return
        if name == "ping":
            if self.before_pong is not None:
                self.before_pong(peer)
            peer.respond(action, Ping="Pong", Timestamp="1795752279.244171")
            if self.after_pong is not None:
                self.after_pong(peer)
            return
        if self.respond is not None:
            result = self.respond(peer, action)
            if result is not None:
                await result
            return
        peer.respond(action)


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    """Poll ``condition`` (cheap, loop-time based) until true; fail the test after ``timeout`` s."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)
