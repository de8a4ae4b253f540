"""A minimal AMI client for the simulator tests (asyncio streams + ami.wire), and the recorded transcripts.

Deliberately not ami.client: the simulator is checked against the transcripts on its own, so the two
halves of ami/ cannot hide each other's mistakes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from ami.wire import Message, Parser
from tests.fixtures import TRANSCRIPTS


@dataclass
class Transcript:
    banner: str | None
    inbound: list[tuple[float, Message]]    # from Asterisk, with the time the message was complete
    outbound: list[tuple[float, Message]]   # from the client


def load_transcript(name: str) -> Transcript:
    inbound_parser, outbound_parser = Parser(), Parser(expect_banner=False)
    inbound: list[tuple[float, Message]] = []
    outbound: list[tuple[float, Message]] = []
    for line in (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines():
        record = json.loads(line)
        data = record["data"].encode()
        if record["dir"] == "in":
            inbound += [(record["t"], m) for m in inbound_parser.feed(data)]
        else:
            outbound += [(record["t"], m) for m in outbound_parser.feed(data)]
    return Transcript(inbound_parser.banner, inbound, outbound)


class Probe:
    """Sends actions, keeps every message received (with loop time), lets a test wait for one."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = Parser()
        self.received: list[Message] = []
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> Probe:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        probe = cls(reader, writer)
        await probe.wait_for(lambda m: True, banner_only=True)
        return probe

    @property
    def banner(self) -> str | None:
        return self._parser.banner

    async def _read(self) -> None:
        try:
            while data := await self._reader.read(65536):
                self.received.extend(self._parser.feed(data))
                self._arrived.set()
        except ConnectionError:
            pass
        finally:
            self.closed.set()
            self._arrived.set()

    def send(self, message: Message) -> None:
        self._writer.write(message.to_bytes())

    async def wait_for(self, predicate: Callable[[Message], bool], *, timeout: float = 60.0,
                       banner_only: bool = False) -> Message | None:
        async def scan() -> Message | None:
            seen = 0
            while True:
                if banner_only and self._parser.banner is not None:
                    return None
                for m in self.received[seen:]:
                    if not banner_only and predicate(m):
                        return m
                seen = len(self.received)
                if self.closed.is_set():
                    raise ConnectionError("simulator closed the connection")
                self._arrived.clear()
                await self._arrived.wait()
        return await asyncio.wait_for(scan(), timeout)

    async def action(self, name: str, **fields: str | list[str]) -> Message:
        """Send an action and wait for its Response (by ActionID)."""
        action_id = str(fields.pop("ActionID", f"{name.lower()}-{len(self.received)}-{id(fields)}"))
        self.send(Message.of(Action=name, ActionID=action_id, **fields))
        found = await self.wait_for(lambda m: m.action_id == action_id and m.response is not None)
        assert found is not None
        return found

    async def login(self, username: str = "dialer", secret: str = "change-me") -> Message:
        return await self.action("Login", Username=username, Secret=secret)

    def events(self, name: str | None = None) -> list[Message]:
        return [m for m in self.received if m.event is not None and (name is None or m.event == name)]

    async def close(self) -> None:
        self._writer.close()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
