"""The AMI side of a real Asterisk under test: an observer that hears every event as a read-all user does
(across restarts), and a TCP relay the engine's AMI connection goes through, which a test can break."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.asterisk.pbx import OBSERVER_SECRET, free_port

# ---- the observer: every event, as Asterisk sends it to a read-all user ---------------------------------

@dataclass
class Heard:
    at: float                      # time.time() when read
    fields: dict[str, str]

    @property
    def name(self) -> str:
        return self.fields.get("Event", "")


@dataclass
class Observer:
    """Hears every AMI event (``[observer]``, read all) across Asterisk restarts; keeps who sits in
    which conference."""
    port: int
    events: list[Heard] = field(default_factory=list)
    members: dict[str, dict[str, str]] = field(default_factory=dict)   # conference → uniqueid → channel
    live: dict[str, str] = field(default_factory=dict)                 # uniqueid → channel, every channel up
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    sessions: int = 0                 # logins so far: one per Asterisk start it saw
    listeners: list[Callable[[Heard], None]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="asterisk-observer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                await reader.readline()
                writer.write(f"Action: Login\r\nUsername: observer\r\nSecret: {OBSERVER_SECRET}\r\n"
                             "Events: on\r\n\r\n".encode())
                await writer.drain()
                buffer = b""
                while chunk := await reader.read(65536):
                    buffer += chunk
                    *messages, buffer = buffer.split(b"\r\n\r\n")
                    for raw in messages:
                        self._hear(raw.decode(errors="replace"))
            except OSError:
                pass
            finally:
                self.connected.clear()
                self.members.clear()          # a restarted Asterisk starts with no channel
                self.live.clear()
                writer.close()
            await asyncio.sleep(0.1)

    def _hear(self, raw: str) -> None:
        fields: dict[str, str] = {}
        for line in raw.split("\r\n"):
            key, sep, value = line.partition(": ")
            if sep and key not in fields:
                fields[key] = value
        if fields.get("Response") == "Success" and fields.get("Message") == "Authentication accepted":
            self.sessions += 1
            self.connected.set()
        if "Event" not in fields:
            return
        heard = Heard(time.time(), fields)
        self.events.append(heard)
        if heard.name == "Newchannel":
            self.live[fields["Uniqueid"]] = fields["Channel"]
        elif heard.name == "Hangup":
            self.live.pop(fields["Uniqueid"], None)
        elif heard.name == "ConfbridgeJoin":
            self.members.setdefault(fields["Conference"], {})[fields["Uniqueid"]] = fields["Channel"]
        elif heard.name == "ConfbridgeLeave":
            self.members.get(fields["Conference"], {}).pop(fields["Uniqueid"], None)
        for listener in self.listeners:
            listener(heard)

    def phones_in(self, conference: str) -> list[str]:
        """The operator phones (uniqueid ``op<ext>-<n>-2``) sitting in a conference now."""
        return [u for u in self.members.get(conference, {}) if u.startswith("op")]

    def customers_in(self, conference: str) -> list[str]:
        return [u for u in self.members.get(conference, {}) if u.startswith("attempt-")]

    def customers_up(self) -> list[str]:
        """Customer channels alive now (the near half, ``attempt-<id>``)."""
        return [u for u in self.live if u.startswith("attempt-") and not u.endswith("-2")]

    def watch_for_ghosts(self) -> list[str]:
        """From now on, every customer who joins an operator's conference with no phone in it (a
        "ghost operator": nobody there to talk to), as a list the caller reads at the end."""
        ghosts: list[str] = []

        def hear(heard: Heard) -> None:
            uniqueid, conference = heard.fields.get("Uniqueid", ""), heard.fields.get("Conference", "")
            if heard.name == "ConfbridgeJoin" and uniqueid.startswith("attempt-") and not self.phones_in(conference):
                ghosts.append(f"{uniqueid} joined {conference} with no phone there")

        self.listeners.append(hear)
        return ghosts


async def wait_until(check: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for: {what}")
        await asyncio.sleep(step_s)


# ---- a link the test can break: the engine's AMI connection goes through it -----------------------------

class AmiLink:
    """A TCP relay between the engine and Asterisk's AMI port. ``drop()`` breaks the connections open
    now (new ones go through), as a network blip would; ``heard`` keeps what Asterisk sent, so a test can
    wait for Asterisk's answer to the engine's next Login."""

    def __init__(self, ami_port: int) -> None:
        self.ami_port = ami_port
        self.port = free_port()
        self.heard = b""
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> AmiLink:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    def drop(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.drop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.ami_port)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}
        await asyncio.gather(self._pump(reader, up_writer, False), self._pump(up_reader, writer, True),
                             return_exceptions=True)
        for w in (writer, up_writer):
            self._open.discard(w)
            w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_pbx: bool) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if from_pbx:
                    self.heard += data
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
