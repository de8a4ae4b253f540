"""Channels and conferences as the simulator keeps them, and the header blocks AMI shows for them.

A channel here is the state Asterisk's channel snapshot carries (name, state, dialplan location,
caller ID, Uniqueid/Linkedid) plus what the simulator needs to play it out (its timers, its peer
half, the conference it sits in). Events are built from ``Channel.block(prefix)`` so every event
shows the same snapshot fields in Asterisk's order.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any
from weakref import WeakKeyDictionary

Pairs = list[tuple[str, str]]
UNKNOWN = "<unknown>"


class ChannelState(IntEnum):
    DOWN = 0
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7

    @property
    def desc(self) -> str:
        return {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}[self.value]


# Timers fire on a 50 ms grid. Under a virtual clock (looptime) every distinct moment costs the loop a
# round of idle cycles before it may jump; on a grid, thousands of calls share moments, so the loop turns
# far fewer times (benchmarks/results/sim-pbx-notes.md), and 50 ms is far below anything a callee's ring
# or talk time could show.
TIMER_GRANULARITY_S = 0.05
# Asterisk runs each channel on a thread of its own and each manager session on another: when the ring
# timeouts of a round of hundreds of calls fall due together, the channels' threads hang them up while a
# session's thread reads a Redirect. Here the timers due in one turn of the loop run this many at a time;
# the rest wait, in their order, for the next turns, and the loop reads the sessions' sockets in between.
TIMER_SLICE = 16


class Timer:
    """A channel timer (``schedule``); ``cancel`` as an asyncio handle's."""

    __slots__ = ("_args", "_callback", "_handle")

    def __init__(self, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        self._callback: Callable[..., object] | None = callback
        self._args = args
        self._handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        self._callback = None
        if self._handle is not None:
            self._handle.cancel()


class _Turns:
    """One loop's channel timers that fell due: at most ``TIMER_SLICE`` run in a turn of the loop."""

    __slots__ = ("_loop", "_marked", "_ran", "_waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: deque[Timer] = deque()   # due, not yet run: after this turn's slice
        self._ran = 0                            # timers run in this turn
        self._marked = False                     # the next turn's start is scheduled

    def due(self, timer: Timer) -> None:
        if self._waiting or self._ran >= TIMER_SLICE:
            self._waiting.append(timer)          # behind those already waiting: the order stays
        else:
            self._run(timer)

    def _run(self, timer: Timer) -> None:
        callback = timer._callback
        if callback is None:                    # cancelled while it waited
            return
        if not self._marked:
            self._marked = True
            self._loop.call_soon(self._next_turn)   # after this turn, and after the sockets are read
        self._ran += 1
        callback(*timer._args)

    def _next_turn(self) -> None:
        self._marked = False
        self._ran = 0
        while self._waiting and self._ran < TIMER_SLICE:
            self._run(self._waiting.popleft())


_turns: WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = WeakKeyDictionary()


def schedule(delay: float, callback: Callable[..., object], *args: object) -> Timer:
    """``loop.call_later`` rounded up to the timer grid, so calls share moments under a virtual clock, and
    run a slice at a time when many fall due together (``TIMER_SLICE``)."""
    loop = asyncio.get_running_loop()
    when = math.ceil((loop.time() + delay) / TIMER_GRANULARITY_S - 1e-9) * TIMER_GRANULARITY_S
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns(loop)
    timer = Timer(callback, args)
    timer._handle = loop.call_at(when, turns.due, timer)
    return timer


# Q.850 causes the simulator produces, with the text Asterisk prints beside them.
CAUSE_TEXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer",
              34: "Circuit/channel congestion"}


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: ChannelState
    context: str
    exten: str
    created_at: float
    priority: int = 1
    application: str = ""
    app_data: str = ""
    caller_num: str = UNKNOWN
    caller_name: str = UNKNOWN
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    variables: dict[str, str] = field(default_factory=dict)
    peer: Channel | None = None          # the other half of a Local channel
    conference: Conference | None = None
    answered_at: float | None = None
    is_callee: bool = False              # the far end the callee model plays (talk/patience timers)
    machine: bool = False                # an answering machine answered (AMD says MACHINE)
    call: Any = None                     # the originate this channel belongs to (ami.simulator.calls.Call)
    timers: list[Timer] = field(default_factory=list)       # the dialplan's: a Redirect ends them
    fate_timers: list[Timer] = field(default_factory=list)  # the callee's and the originate's
    alive: bool = True
    spying_on: Channel | None = None

    def block(self, prefix: str = "") -> Pairs:
        p = prefix
        return [
            (f"{p}Channel", self.name), (f"{p}ChannelState", str(int(self.state))),
            (f"{p}ChannelStateDesc", self.state.desc), (f"{p}CallerIDNum", self.caller_num),
            (f"{p}CallerIDName", self.caller_name), (f"{p}ConnectedLineNum", self.connected_num),
            (f"{p}ConnectedLineName", self.connected_name), (f"{p}Language", "en"), (f"{p}AccountCode", ""),
            (f"{p}Context", self.context), (f"{p}Exten", self.exten), (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid), (f"{p}Linkedid", self.linkedid),
        ]

    def goto(self, context: str, exten: str, priority: int = 1) -> None:
        self.context, self.exten, self.priority = context, exten, priority

    def run(self, application: str, data: str = "") -> None:
        self.application, self.app_data = application, data

    def later(self, delay: float, callback: Callable[..., object], *args: object) -> None:
        """A dialplan timer: a Redirect or a hangup cancels it."""
        self.timers.append(schedule(delay, callback, *args))

    def later_fate(self, delay: float, callback: Callable[..., object], *args: object) -> Timer:
        """A timer of the callee or the originate (talk time, patience, timeout): only a hangup cancels it."""
        handle = schedule(delay, callback, *args)
        self.fate_timers.append(handle)
        return handle

    def cancel_timers(self, *, fate: bool = True) -> None:
        for handle in self.timers:
            handle.cancel()
        self.timers.clear()
        if fate:
            for handle in self.fate_timers:
                handle.cancel()
            self.fate_timers.clear()

    def release(self) -> None:
        """The channel and its other half have both ended: drop what ties them to each other and to their
        call, so that reference counting frees them now. Left in those cycles, they wait for a full
        collection, which over thousands of calls in flight stops the loop for hundreds of milliseconds
        (Asterisk, which the simulator stands in for, never does)."""
        for half in (self, self.peer):
            if half is not None:
                half.peer = half.call = half.conference = half.spying_on = None

    @property
    def local_half(self) -> str:
        return self.name[-2:] if self.name.startswith("Local/") else ""


@dataclass(eq=False)
class Conference:
    """A ConfBridge. Asterisk counts its announcer channel (CBAnn) in BridgeNumChannels."""
    name: str
    bridge_id: str
    members: list[Channel] = field(default_factory=list)
    joined_at: dict[str, float] = field(default_factory=dict)

    def block(self, extra: int = 0) -> Pairs:
        return [
            ("BridgeUniqueid", self.bridge_id), ("BridgeType", "base"), ("BridgeTechnology", "softmix"),
            ("BridgeCreator", "ConfBridge"), ("BridgeName", self.name),
            ("BridgeNumChannels", str(len(self.members) + 1 + extra)), ("BridgeVideoSourceMode", "none"),
        ]

    def has_operator(self) -> bool:
        return any(m.context == "operators" for m in self.members)


def parse_caller_id(text: str) -> tuple[str, str]:
    """``"Shop" <74959374955>`` → (number, name); a bare number is its own name, as Asterisk shows it."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        name = name.strip().strip('"')
        number = number.strip()
        return number or UNKNOWN, name or UNKNOWN
    return (text, UNKNOWN) if text else (UNKNOWN, UNKNOWN)


def hms(seconds: float) -> str:
    """Seconds as the ``HH:MM:SS`` of CoreShowChannel's ``Duration``, the form Asterisk prints."""
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
