"""The simulated switch: live channels, conferences, and the events Asterisk 22 sends as they change.

Everything runs on loop timers (``call_later``); nothing blocks and nothing reads the wall clock, so
the switch runs just as well under a virtual-time loop (looptime) as in real time. Events are only
built when some logged-in session reads their class, which keeps an unobserved call cheap.
The event order within one channel follows the recorded transcripts; across channels Asterisk itself
varies (one thread per channel), see tests/ami/test_simulator_transcripts.py.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ami.simulator.astdb import AstDb
from ami.simulator.channels import CAUSE_TEXT, Channel, ChannelState, Conference, Pairs

Publish = Callable[[str, str, Pairs], None]


@dataclass
class OriginateOrder:
    """A validated Originate action."""
    channel: str                  # dial string, e.g. Local/15550001@pstn-sim or PJSIP/15550001@trunk
    action_id: str | None
    context: str | None = None
    exten: str | None = None
    priority: int = 1
    application: str | None = None
    data: str = ""
    timeout_s: float = 30.0
    caller_id: tuple[str, str] | None = None
    variables: list[tuple[str, str]] = field(default_factory=list)
    channel_id: str | None = None
    other_channel_id: str | None = None
    send_response_event: bool = True   # Async: OriginateResponse is an event; sync: the action waits


@dataclass
class OriginateOutcome:
    success: bool
    reason: int


@dataclass
class Tally:
    """Counters a test or benchmark can read without listening to events."""
    originated: int = 0
    answered: int = 0
    busy: int = 0
    congestion: int = 0
    no_answer: int = 0
    failed: int = 0
    hangups: int = 0
    sessions_dropped: int = 0   # AMI sessions cut because they did not read their events


class Exchange:
    def __init__(self, *, epoch: int = 1_795_750_000) -> None:
        self.loop = asyncio.get_running_loop()
        self._t0 = self.loop.time()
        self._epoch = epoch
        self._ids = itertools.count(1)
        self._names = itertools.count(1)
        self.channels: dict[str, Channel] = {}        # by Uniqueid, in creation order
        self.by_name: dict[str, Channel] = {}
        self.conferences: dict[str, Conference] = {}
        self.originates_by_number: Counter[str] = Counter()
        self.tally = Tally()
        self.listening: frozenset[str] = frozenset()  # classes some session reads (set by the server)
        self.publish: Publish = lambda name, category, pairs: None
        self.spies: dict[str, Channel] = {}           # ChanSpy: spyer Uniqueid → spyer
        self.on_channel_end: Callable[[Channel], None] = lambda ch: None
        self.astdb = AstDb()                          # Asterisk's own database (func_db, DBGet/DBPut/DBDel)

    # ---- time and ids --------------------------------------------------------------------------

    def now(self) -> float:
        return self.loop.time()

    def epoch_now(self) -> float:
        """Seconds since 1970 as this PBX believes it (a fixed epoch plus loop time: no wall clock)."""
        return self._epoch + (self.loop.time() - self._t0)

    def uptime(self) -> float:
        return self.loop.time() - self._t0

    def new_uniqueid(self) -> str:
        return f"{int(self.epoch_now())}.{next(self._ids)}"

    def new_name_suffix(self) -> str:
        return f"{next(self._names):08x}"

    def uniqueid_in_use(self, uid: str | None) -> bool:
        return uid is not None and uid in self.channels

    # ---- events --------------------------------------------------------------------------------

    def hears(self, category: str) -> bool:
        return category in self.listening

    def emit(self, name: str, category: str, pairs: Pairs) -> None:
        if category in self.listening:
            self.publish(name, category, pairs)

    def channel_event(self, name: str, ch: Channel, *extra: tuple[str, str], category: str = "call") -> None:
        if category in self.listening:
            self.publish(name, category, [*ch.block(), *extra])

    def dial_event(self, name: str, dest: Channel, *extra: tuple[str, str]) -> None:
        if "call" in self.listening:
            self.publish(name, "call", [*dest.block("Dest"), *extra])

    def newexten(self, ch: Channel, priority: int, application: str, data: str = "") -> None:
        ch.priority = priority
        ch.run(application, data)
        if "dialplan" in self.listening:
            self.publish("Newexten", "dialplan", [*ch.block(), ("Extension", ch.exten),
                                                  ("Application", application), ("AppData", data)])

    def varset(self, ch: Channel, variable: str, value: str) -> None:
        ch.variables[variable] = value
        if "dialplan" in self.listening:
            self.publish("VarSet", "dialplan", [*ch.block(), ("Variable", variable), ("Value", value)])

    def set_state(self, ch: Channel, state: ChannelState) -> None:
        ch.state = state
        if state == ChannelState.UP and ch.answered_at is None:
            ch.answered_at = self.now()
        self.channel_event("Newstate", ch)

    def originate_response(self, order: OriginateOrder, ok: bool, reason: int, channel: str, uniqueid: str,
                           caller: tuple[str, str]) -> None:
        if not order.send_response_event:
            return
        pairs: Pairs = []
        if order.action_id is not None:
            pairs.append(("ActionID", order.action_id))
        pairs += [("Response", "Success" if ok else "Failure"), ("Channel", channel)]
        if order.application:
            pairs += [("Application", order.application), ("Data", order.data)]
        else:
            pairs += [("Context", order.context or ""), ("Exten", order.exten or "")]
        pairs += [("Reason", str(reason)), ("Uniqueid", uniqueid),
                  ("CallerIDNum", caller[0]), ("CallerIDName", caller[1])]
        self.emit("OriginateResponse", "call", pairs)

    # ---- channels ------------------------------------------------------------------------------

    def add(self, ch: Channel) -> Channel:
        self.channels[ch.uniqueid] = ch
        self.by_name[ch.name] = ch
        self.channel_event("Newchannel", ch)
        return ch

    def find(self, name_or_uniqueid: str) -> Channel | None:
        return self.by_name.get(name_or_uniqueid) or self.channels.get(name_or_uniqueid)

    def hang_up(self, first: Channel, cause: int, *, peer_cause: int | None = None, request_cause: int = 16,
                soft: bool = True) -> None:
        """End a channel and, for a Local channel, its other half (Asterisk hangs up both).

        ``first`` is where the hangup starts (the callee's side, or the channel an action named);
        its peer sees a HangupRequest first, as on Asterisk.
        """
        if not first.alive:
            return
        peer = first.peer if first.peer is not None and first.peer.alive else None
        if soft:
            self.channel_event("SoftHangupRequest", first, ("Cause", "16"))
        if peer is not None:
            self.channel_event("HangupRequest", peer, ("Cause", str(request_cause)))
        self.end(first, cause)
        if peer is not None:
            self.channel_event("SoftHangupRequest", peer, ("Cause", "16"))
            self.end(peer, cause if peer_cause is None else peer_cause)

    def end(self, ch: Channel, cause: int) -> None:
        ch.alive = False
        ch.cancel_timers()
        if ch.conference is not None:
            self.leave_conference(ch, hangup=True)
        self._stop_spying(ch)
        self.channel_event("Hangup", ch, ("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")))
        self.channels.pop(ch.uniqueid, None)
        self.by_name.pop(ch.name, None)
        self.tally.hangups += 1
        self.on_channel_end(ch)
        if ch.peer is None or not ch.peer.alive:
            ch.release()

    def ensure_conference(self, name: str) -> Conference:
        conf = self.conferences.get(name)
        if conf is None:
            conf = Conference(name, str(uuid.UUID(int=next(self._ids) * 7919 + 1)))
            self.conferences[name] = conf
            self.emit("BridgeCreate", "call", conf.block(extra=-1))
            self.emit("ConfbridgeStart", "call", [("Conference", name), *conf.block()])
        return conf

    def join_conference(self, ch: Channel, name: str) -> None:
        conf = self.ensure_conference(name)
        conf.members.append(ch)
        conf.joined_at[ch.uniqueid] = self.now()
        ch.conference = conf
        self.emit("BridgeEnter", "call", [*conf.block(), *ch.block()])
        self.emit("ConfbridgeJoin", "call",
                  [("Conference", name), *conf.block(), *ch.block(), ("Admin", "No"), ("Muted", "No")])

    def leave_conference(self, ch: Channel, *, hangup: bool) -> None:
        conf = ch.conference
        if conf is None:
            return
        self.emit("ConfbridgeLeave", "call", [("Conference", conf.name), *conf.block(), *ch.block(), ("Admin", "No")])
        conf.members.remove(ch)
        conf.joined_at.pop(ch.uniqueid, None)
        ch.conference = None
        self.emit("BridgeLeave", "call", [*conf.block(), *ch.block()])
        if hangup:
            self.varset(ch, "CONFBRIDGE_RESULT", "HANGUP")
        if not conf.members:
            self.emit("ConfbridgeEnd", "call", [("Conference", conf.name), *conf.block()])
            self.emit("BridgeDestroy", "call", conf.block(extra=-1))
            del self.conferences[conf.name]

    # ---- ChanSpy -------------------------------------------------------------------------------

    def start_spying(self, spyer: Channel, spyee: Channel) -> None:
        spyer.spying_on = spyee
        self.spies[spyer.uniqueid] = spyer
        self.emit("ChanSpyStart", "call", [*spyer.block("Spyer"), *spyee.block("Spyee")])

    def _stop_spying(self, gone: Channel) -> None:
        if gone.spying_on is not None:
            self.emit("ChanSpyStop", "call", [*gone.block("Spyer"), *gone.spying_on.block("Spyee")])
            self.spies.pop(gone.uniqueid, None)
            gone.spying_on = None
        for spyer in [s for s in self.spies.values() if s.spying_on is gone]:
            self.emit("ChanSpyStop", "call", [*spyer.block("Spyer"), *gone.block("Spyee")])
            spyer.spying_on = None
            del self.spies[spyer.uniqueid]
