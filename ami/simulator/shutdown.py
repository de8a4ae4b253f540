"""The simulated Asterisk stopping and starting again: ``core stop now``, ``core stop gracefully``, restart.

As recorded from Asterisk 22.10.1 (tests/fixtures/asterisk/transcripts/faults: shutdown-now-with-calls,
shutdown-gracefully-originate, shutdown-gracefully-operator-phone, restart-reconcile):

* ``core stop now``: within a few ms every conference member leaves, a call still ringing gets
  OriginateResponse Failure with Reason 0 (not 3) and DialEnd NOANSWER, and every channel hangs up:
  cause 16 for a conference member and the callee's half of a customer in a conference, cause 0 for
  the rest. About 1.1 s later the sockets close; only a ``system`` reader hears ``Event: Shutdown`` first.
* ``core stop gracefully``: every action, Login included, gets ``Response: Error`` /
  ``Message: Asterisk is shutting down``; the calls up go on and their events keep flowing. About 1.8 s
  after the last channel is gone Asterisk stops by itself (an operator's phone in ``Wait(86400)`` keeps
  it up until a ``core stop now``).
* After a stop the port refuses connections until ``restart``; the PBX starts empty (a fresh start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ami.simulator.channels import Channel, ChannelState
from ami.simulator.exchange import OriginateOutcome

if TYPE_CHECKING:
    from ami.simulator.server import SimulatorServer

SHUTTING_DOWN = "Asterisk is shutting down"
NOW_CLOSE_S = 1.1           # core stop now: from the hangups to the closed sockets
GRACEFUL_CLOSE_S = 1.8      # core stop gracefully: from the last hangup to the closed sockets
log = logging.getLogger("ami.simulator")


class Lifecycle:
    """Running → stopping (graceful) → down → (restart) running. ``listen`` opens the TCP port."""

    def __init__(self, server: SimulatorServer, listen: Callable[[], Awaitable[asyncio.Server]]) -> None:
        self.server = server
        self._listen = listen
        self.tcp: asyncio.Server | None = None
        self.stopping = False      # gracefully: every action is refused
        self.down = False
        self.stopped = asyncio.Event()   # set when the sockets have closed
        self._closing: asyncio.TimerHandle | None = None
        exchange = server.exchange
        previous = exchange.on_channel_end

        def channel_ended(ch: Channel) -> None:
            previous(ch)
            if self.stopping and not exchange.channels and self._closing is None:
                self._closing = exchange.loop.call_later(GRACEFUL_CLOSE_S, self._go_down)
        exchange.on_channel_end = channel_ended

    async def start(self) -> None:
        self.tcp = await self._listen()
        self.stopping = self.down = False
        self.stopped = asyncio.Event()
        self._closing = None

    def stop_gracefully(self) -> None:
        if self.stopping or self.down:
            return
        log.warning("core stop gracefully: actions and logins refused until the last call has ended")
        self.stopping = True
        if not self.server.exchange.channels:
            self._closing = self.server.exchange.loop.call_later(GRACEFUL_CLOSE_S, self._go_down)

    def stop_now(self) -> None:
        if self.down:
            return
        log.warning("core stop now: every channel hung up")
        self.stopping = True
        if self._closing is not None:
            self._closing.cancel()
        x = self.server.exchange
        self._closing = x.loop.call_later(NOW_CLOSE_S, self._go_down)   # before the hangups: no second one
        in_conference = {ch.uniqueid for ch in x.channels.values() if ch.conference is not None}
        for ch in list(x.channels.values()):
            if ch.conference is not None:
                x.leave_conference(ch, hangup=True)
        for ch in list(x.channels.values()):
            call = ch.call
            if call is not None and ch is call.one and not call.finished:
                call.finished = True    # its Originate thread gives up: Reason 0, DialEnd NOANSWER
                x.tally.failed += 1
                x.originate_response(call.order, False, 0, call.order.channel, ch.uniqueid,
                                     (ch.caller_num, ch.caller_name))
                if ch.state is ChannelState.RINGING:
                    x.dial_event("DialEnd", ch, ("DialStatus", "NOANSWER"))
                if call.done:
                    call.done(OriginateOutcome(False, 0))
        for ch in list(x.channels.values()):
            callee_of_member = ch.call is not None and ch is ch.call.two and ch.peer is not None \
                and ch.peer.uniqueid in in_conference
            if ch.alive:
                x.end(ch, 16 if ch.uniqueid in in_conference or callee_of_member else 0)

    async def restart(self) -> None:
        """Asterisk started again: empty, listening on the same port."""
        if not self.down:
            self.stop_now()
            await self.stopped.wait()
        await self.start()

    def _go_down(self) -> None:
        if self.down:
            return
        x = self.server.exchange
        x.emit("Shutdown", "system", [("Shutdown", "Cleanly"), ("Restart", "False")])
        for ch in list(x.channels.values()):   # only a graceful stop gets here with none
            x.end(ch, 0)
        self.down = True
        self.stopping = False
        if self.tcp is not None:
            self.tcp.close()
        self.server.close_sessions()
        self.stopped.set()
        log.warning("Asterisk stopped: the AMI port is closed until it is started again")

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.cancel()
        if self.tcp is not None:
            self.tcp.close()
            with contextlib.suppress(Exception):
                await self.tcp.wait_closed()
