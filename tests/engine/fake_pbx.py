"""An in-memory PBX for engine tests: records every action, and lets the test play Asterisk's events.

Operator phones (Application=Wait on a Local channel) join their conference at once, as the real
dialplan does; a failed originate is followed by the Hangup of both halves of its channel, as on
Asterisk; everything else happens only when the test says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from ami.pbx import (
    ChannelHungUp,
    ChannelInfo,
    ChannelStatus,
    ConferenceJoined,
    OriginateRequest,
    OriginateResult,
    PbxEvent,
    PbxNotConnected,
)

# The cause Asterisk gives the callee's half of a failed originate, by OriginateResponse Reason.
_FAR_CAUSE = {3: 19, 5: 17, 8: 34}


class FakePbx:
    def __init__(self) -> None:
        self.originated: list[OriginateRequest] = []
        self.redirects: list[tuple[str, str, str]] = []
        self.hangups: list[str] = []
        self.live: set[str] = set()
        # where a live channel is, for Status: channel id → (state, context, exten); default ringing
        self.where: dict[str, tuple[str, str, str]] = {}
        self._handlers: list[Callable[[PbxEvent], None]] = []
        self._connected = True
        # A failed OriginateResponse of a live call brings the Hangups of ;1 and ;2 (off: the test plays them).
        self.hangups_follow_failures = True
        # Asterisk's own database: (family, key) → value, as the dialplan's Set(DB(...)) leaves it.
        self.astdb: dict[tuple[str, str], str] = {}

    @property
    def connected(self) -> bool:
        return self._connected

    def set_connected(self, up: bool) -> None:
        self._connected = up

    def subscribe(self, handler: Callable[[PbxEvent], None]) -> None:
        self._handlers.append(handler)

    def emit(self, event: PbxEvent) -> None:
        for handler in self._handlers:
            handler(event)
        if (self.hangups_follow_failures and isinstance(event, OriginateResult) and not event.success
                and event.channel_id in self.live):
            self.live.discard(event.channel_id)
            self.emit(ChannelHungUp(event.channel_id, 0 if event.reason in (5, 8) else _FAR_CAUSE.get(event.reason, 0)))
            self.emit(ChannelHungUp(f"{event.channel_id}-2", _FAR_CAUSE.get(event.reason, 0)))

    async def originate(self, request: OriginateRequest) -> None:
        if not self._connected:
            raise PbxNotConnected("Originate", "not connected")
        self.originated.append(request)
        self.live.add(request.channel_id)
        if request.application == "Wait":
            extension = request.channel.split("/")[1].split("@")[0]
            asyncio.get_running_loop().call_soon(
                self.emit, ConferenceJoined(f"op{extension}", request.channel_id + "-2"))

    async def redirect(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        self.redirects.append((channel_id, context, exten))

    async def hangup(self, channel_id: str, cause: int = 16) -> None:
        self.hangups.append(channel_id)

    async def list_channels(self) -> list[ChannelInfo]:
        return [ChannelInfo(c, c, "", "", "Up", "", 0) for c in sorted(self.live)]

    async def status(self, variables: Sequence[str] = ("ATTEMPT_ID",)) -> list[ChannelStatus]:
        if not self._connected:
            raise PbxNotConnected("Status", "not connected")
        rows = []
        for channel_id in sorted(self.live):
            state, context, exten = self.where.get(channel_id, ("Ringing", "pstn", "s"))
            attempt = channel_id.removeprefix("attempt-") if channel_id.startswith("attempt-") else ""
            rows.append(ChannelStatus(f"Local/{channel_id}", channel_id, state, context, exten, 3,
                                      {"ATTEMPT_ID": attempt} if "ATTEMPT_ID" in variables else {}))
        return rows

    async def db_get(self, family: str, key: str) -> str | None:
        if not self._connected:
            raise PbxNotConnected("DBGet", "not connected")
        return self.astdb.get((family, key))

    async def db_del(self, family: str, key: str) -> None:
        if not self._connected:
            raise PbxNotConnected("DBDel", "not connected")
        self.astdb.pop((family, key), None)

    def customer_calls(self) -> list[OriginateRequest]:
        return [r for r in self.originated if r.channel_id.startswith("attempt-")]
