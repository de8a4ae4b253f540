"""The ``Pbx`` port over several Asterisk servers, each with its own channel and calls-per-second limits.

Knows AMI links and channels, nothing of campaigns or operators: who may go where is asked of the
``route`` hook, and which server is better now of the ``preference`` hook (the dialer sets both).

* **Originate** goes to an allowed server whose link is up, that has a free channel and whose last
  second holds fewer than ``cps`` originates — the most preferred, then the least loaded. The channel
  and the send slot are taken before the first ``await``, so concurrent originates never pass a limit.
  With channels free but every send slot of the second used, it waits for the first slot (at most
  ``max_wait_s``); with no channel free anywhere it raises ``PbxCapacityError`` (not sent).
* **Later actions** (Redirect, Hangup) go to the server the channel was originated on: the cluster pins
  every channel id to its server. A channel it never saw (re-attached after a restart) is pinned when
  ``status`` finds it carrying a variable asked for (``ATTEMPT_ID``), or looked for on every server.
* **A server down**: no originate goes there; the others go on. ``status``/``list_channels`` answer for
  every server or raise ``PbxNotConnected`` naming the missing one — a partial answer would make the
  engine close that server's live calls as lost. ``LinkUp``/``LinkDown`` carry the server's name.

Channel counting: a channel counts from the Originate until its Hangup (or a failed OriginateResponse);
a pinned channel that a ``status`` of its server no longer shows, ``GONE_AFTER_S`` after its Originate,
is counted gone (its Hangup was lost with a link).

All times are loop time, so the limits hold in virtual time too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ami.pbx import (
    ChannelHungUp,
    ChannelInfo,
    ChannelStatus,
    ConferenceMember,
    LinkDown,
    LinkUp,
    OriginateRequest,
    OriginateResult,
    Pbx,
    PbxError,
    PbxEvent,
    PbxLinkLost,
    PbxNotConnected,
    near_half,
)

log = logging.getLogger(__name__)

GONE_AFTER_S = 5.0

Route = Callable[[OriginateRequest], Sequence[str] | None]     # servers a request may use (None: any)
Preference = Callable[[str], float]                            # higher: send there first


class PbxCapacityError(PbxNotConnected):
    """Not sent: no allowed server has a free channel (or a send slot within ``max_wait_s``)."""


@dataclass(frozen=True)
class ServerLimits:
    max_channels: int = 100      # channels the dialer may hold on the server at once
    cps: int = 10                # originates in any one second

    def __post_init__(self) -> None:
        if self.max_channels < 1 or self.cps < 1:
            raise ValueError(f"max_channels and cps must be at least 1, got {self.max_channels}, {self.cps}")


class _Server:
    def __init__(self, name: str, pbx: Pbx, limits: ServerLimits) -> None:
        self.name = name
        self.pbx = pbx
        self.limits = limits
        self.channels: dict[str, float] = {}      # channel id → loop time of its Originate
        self.sent: deque[float] = deque()         # loop times of the originates of the last second

    def send_slot_at(self, now: float) -> float:
        """Loop time from which one more originate keeps the last second within ``cps``."""
        while self.sent and self.sent[0] <= now - 1.0:
            self.sent.popleft()
        return now if len(self.sent) < self.limits.cps else self.sent[0] + 1.0

    @property
    def free(self) -> int:
        return self.limits.max_channels - len(self.channels)


class PbxCluster:
    """Implements ``ami.pbx.Pbx`` over named servers."""

    def __init__(self, servers: Mapping[str, tuple[Pbx, ServerLimits]], *, max_wait_s: float = 5.0) -> None:
        if not servers:
            raise ValueError("a PBX cluster needs at least one server")
        self._servers = {name: _Server(name, pbx, limits) for name, (pbx, limits) in servers.items()}
        self._pins: dict[str, str] = {}            # channel id → server name
        self._handlers: list[Callable[[PbxEvent], None]] = []
        self.max_wait_s = max_wait_s
        self.route: Route | None = None
        self.preference: Preference | None = None
        self.placed: Callable[[str], None] | None = None   # told the server each originate was given to
        for server in self._servers.values():
            server.pbx.subscribe(lambda event, server=server: self._on_event(server, event))

    def __repr__(self) -> str:
        return f"PbxCluster({', '.join(f'{s.name}:{s.pbx!r}' for s in self._servers.values())})"

    # ---- state -------------------------------------------------------------------------------------

    @property
    def servers(self) -> dict[str, Pbx]:
        return {name: server.pbx for name, server in self._servers.items()}

    @property
    def connected(self) -> bool:
        """At least one server can take an originate."""
        return any(s.pbx.connected for s in self._servers.values())

    def room(self) -> int:
        """Channels free on the servers that are up: more calls than this cannot be placed now."""
        return sum(max(0, s.free) for s in self._servers.values() if s.pbx.connected)

    def channels(self, server: str) -> int:
        return len(self._servers[server].channels)

    def limits(self, server: str) -> ServerLimits:
        return self._servers[server].limits

    def server_of(self, channel_id: str) -> str | None:
        name = self._pins.get(channel_id)
        if name is None:                      # a far half is pinned with its near half
            name = self._pins.get(near_half(channel_id))
        return name

    def subscribe(self, handler: Callable[[PbxEvent], None]) -> None:
        self._handlers.append(handler)

    # ---- actions -----------------------------------------------------------------------------------

    async def originate(self, request: OriginateRequest) -> None:
        server = await self._reserve(request)
        try:
            await server.pbx.originate(request)
        except PbxLinkLost:
            raise                       # may exist: stays counted until reconciled
        except PbxError:
            self._unpin(request.channel_id)
            raise

    async def redirect(self, channel_id: str, context: str, exten: str, priority: int = 1) -> None:
        await self._on_channel(channel_id, lambda pbx: pbx.redirect(channel_id, context, exten, priority))

    async def hangup(self, channel_id: str, cause: int = 16) -> None:
        await self._on_channel(channel_id, lambda pbx: pbx.hangup(channel_id, cause))

    async def list_channels(self) -> list[ChannelInfo]:
        found: list[ChannelInfo] = []
        for server in self._all_up("CoreShowChannels"):
            rows = await server.pbx.list_channels()
            self._resync(server, {r.channel_id for r in rows}, ours=set())
            found.extend(rows)
        return found

    async def status(self, variables: Sequence[str] = ("ATTEMPT_ID",)) -> list[ChannelStatus]:
        found: list[ChannelStatus] = []
        for server in self._all_up("Status"):
            rows = await server.pbx.status(variables)
            # a channel carrying one of the variables asked for is one the dialer placed (re-attached)
            self._resync(server, {r.channel_id for r in rows},
                         ours={r.channel_id for r in rows if any(r.variables.get(v) for v in variables)})
            found.extend(rows)
        return found

    async def confbridge_list(self, conference: str) -> list[ConferenceMember]:
        found: list[ConferenceMember] = []
        for server in self._servers.values():
            if server.pbx.connected:
                found.extend(await server.pbx.confbridge_list(conference))
        return found

    async def db_get(self, family: str, key: str) -> str | None:
        """A channel gone leaves no trace of its server: every one is asked, the first value found wins."""
        for server in self._all_up("DBGet"):
            value = await server.pbx.db_get(family, key)
            if value is not None:
                return value
        return None

    async def db_del(self, family: str, key: str) -> None:
        for server in self._all_up("DBDel"):
            await server.pbx.db_del(family, key)

    # ---- choosing a server -------------------------------------------------------------------------

    async def _reserve(self, request: OriginateRequest) -> _Server:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        allowed = self.route(request) if self.route is not None else None
        while True:
            now = loop.time()
            candidates = [s for s in self._servers.values()
                          if s.pbx.connected and s.free > 0 and (allowed is None or s.name in allowed)]
            if allowed is not None and not allowed:
                raise PbxCapacityError("Originate", "no Asterisk server allowed for this call is configured")
            if not candidates:
                if not any(s.pbx.connected for s in self._servers.values()):
                    raise PbxNotConnected("Originate", "no Asterisk server is connected")
                raise PbxCapacityError("Originate", "every allowed Asterisk server is at its channel limit")
            ready = [s for s in candidates if s.send_slot_at(now) <= now]
            if ready:
                server = min(ready, key=self._rank)
                server.sent.append(now)
                server.channels[request.channel_id] = now
                self._pins[request.channel_id] = server.name
                if self.placed is not None:
                    self.placed(server.name)
                return server
            first = min(s.send_slot_at(now) for s in candidates)
            if first > deadline:
                raise PbxCapacityError("Originate", f"no send slot within {self.max_wait_s:g} s (cps limits)")
            await asyncio.sleep(first - now)

    def _rank(self, server: _Server) -> tuple[float, float, str]:
        preferred = self.preference(server.name) if self.preference is not None else 0.0
        return (-preferred, len(server.channels) / server.limits.max_channels, server.name)

    async def _on_channel(self, channel_id: str, action: Callable[[Pbx], object]) -> None:
        name = self.server_of(channel_id)
        if name is not None:
            await action(self._servers[name].pbx)     # type: ignore[misc]
            return
        # Never seen (re-attached after a restart): the channel is on exactly one server.
        error: PbxError = PbxNotConnected("Action", "no Asterisk server is connected")
        for server in self._servers.values():
            if not server.pbx.connected:
                continue
            try:
                await action(server.pbx)              # type: ignore[misc]
            except PbxNotConnected as exc:
                error = exc
                continue
            except PbxError as exc:                   # "No such channel" on this one: try the next
                error = exc
                continue
            self._pins[channel_id] = server.name
            return
        raise error

    def _all_up(self, action: str) -> list[_Server]:
        down = [s.name for s in self._servers.values() if not s.pbx.connected]
        if down:
            raise PbxNotConnected(action, f"Asterisk server(s) {', '.join(down)} not connected")
        return list(self._servers.values())

    # ---- channel accounting ------------------------------------------------------------------------

    def _on_event(self, server: _Server, event: PbxEvent) -> None:
        match event:
            case ChannelHungUp(channel_id=channel_id) if channel_id in server.channels:
                self._unpin(channel_id)
            case OriginateResult(channel_id=channel_id, success=False) if channel_id in server.channels:
                self._unpin(channel_id)
            case LinkUp() | LinkDown():
                event = replace(event, server=server.name)
                if isinstance(event, LinkDown):
                    log.warning("Asterisk %s: link down; no calls go there until it is back", server.name)
        for handler in self._handlers:
            handler(event)

    def _unpin(self, channel_id: str) -> None:
        name = self._pins.pop(channel_id, None)
        if name is not None:
            self._servers[name].channels.pop(channel_id, None)

    def _resync(self, server: _Server, present: set[str], ours: set[str]) -> None:
        """What a full listing of the server says: channels of ours it did not know are pinned (and
        counted), counted ones long gone from it are forgotten."""
        now = asyncio.get_running_loop().time()
        for channel_id in ours:
            if channel_id not in self._pins:
                self._pins[channel_id] = server.name
                server.channels[channel_id] = now
        for channel_id, since in list(server.channels.items()):
            if channel_id not in present and since < now - GONE_AFTER_S:
                self._unpin(channel_id)


def room_of(pbx: Pbx) -> int | None:
    """Channels free now across a cluster's servers; None for a single PBX, whose channel limit (if any) only
    Asterisk knows — it refuses the Originate itself."""
    return pbx.room() if isinstance(pbx, PbxCluster) else None


def server_of(pbx: Pbx, channel_id: str) -> str | None:
    """Which of a cluster's servers carries the channel; None for a single PBX (the attempt row names none)."""
    return pbx.server_of(channel_id) if isinstance(pbx, PbxCluster) else None
