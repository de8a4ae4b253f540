"""A day on a call floor in virtual time: the process both simulations share, as discrete events.

A pacer originates calls; each call rings until the callee answers, is busy, or the dialer gives up; a
live answer takes the longest-idle free operator (while more than ``reserved`` are free) or waits, and is
abandoned if nobody comes within the safe-harbor window (or the callee's patience, if shorter); the
operator talks, wraps up, and is free again, taking the oldest waiting call. The pacer is asked on every
relevant event (answer, failed dial, operator freed) and at least every ``tick_s``, as in the engine.

``Day`` runs that process; a subclass says what a call is (which callee, which campaign), who hears of
each outcome, and how its pacer is asked (``pacing.simulation`` for one campaign, ``pacing.group_simulation``
for a group on one pool). Pure Python and numpy, no asyncio: the same seed gives the same day.
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections import deque
from typing import Generic, NamedTuple, TypeVar

import numpy as np

from pacing.dial_features import DialFeatures
from pacing.dial_plan import DialPlan
from pacing.legal_window import WindowHistory
from pacing.snapshot import Estimates, Snapshot
from pacing.world import World, draw_callees, sample_block

_RING_END, _HANDLE_END, _DEADLINE, _TICK = 0, 1, 2, 3

Plan = TypeVar("Plan")


class DayFloor:
    """What a pacer may look at: the state of operators and calls right now (read-only for pacers)."""

    def __init__(self, operators: int) -> None:
        self.operators = operators
        self.now = 0.0
        self.free: deque[int] = deque(range(operators))          # longest idle first
        self.free_since: dict[int, float] = dict.fromkeys(range(operators), 0.0)
        self.busy: dict[int, tuple[float, float]] = {}             # operator → (talk start, talk end)
        self.ringing: dict[int, float] = {}                        # call → originated at
        self.waiting: deque[int] = deque()                         # answered calls, oldest first
        self.dials = 0
        self.answers = 0          # live answers
        self.abandons = 0
        self.machines = 0
        # What the dialer knows of each dial (pacing.dial_features), for pacers that read it: the calls
        # ringing now, and the plan the next dials follow. Earlier days' counts still in the legal window.
        self.features: dict[int, DialFeatures] = {}                # call ringing → what was known when dialed
        self.plan: DialPlan | None = None
        self.history: WindowHistory | None = None
        self.day_end_s: float | None = None     # when the campaign stops dialing today (its calling hours)

    def next_features(self, n: int) -> list[DialFeatures]:
        """What the next ``n`` dials would carry if they were placed now (a strategy's switch shows here the
        moment it happens)."""
        features = self.plan.features(self.now) if self.plan is not None else DialFeatures()
        return [features] * n

    def window_counts(self) -> tuple[int, int]:
        """(live answers, abandons) of the legal window ending now: the earlier days' still in it, and today's."""
        if self.history is None:
            return self.answers, self.abandons
        answers, abandons = self.history.counts(self.now)
        return answers + self.answers, abandons + self.abandons

    def window_counts_staying(self, until: float) -> tuple[int, int]:
        """(live answers, abandons) of the window now that are still in it at ``until``: today's, and the
        earlier days' not yet gone by then (a rolling window's oldest calls leave it as the day goes on)."""
        if self.history is None:
            return self.answers, self.abandons
        answers, abandons = self.history.counts(until)
        return answers + self.answers, abandons + self.abandons

    def window_counts_staying_at(self, ends: np.ndarray) -> np.ndarray:
        """``window_counts_staying`` at each of ``ends``, one row (answers, abandons) each."""
        today = np.array([[self.answers, self.abandons]])
        if self.history is None:
            return np.repeat(today, len(ends), axis=0)
        return self.history.counts_at(ends) + today

    @property
    def free_count(self) -> int:
        return len(self.free)

    def talking_count(self) -> int:
        now = self.now
        return sum(1 for _, end in self.busy.values() if end > now)

    def snapshot(self, estimates: Estimates) -> Snapshot:
        now = self.now
        return Snapshot(free_operators=len(self.free),
                        busy_elapsed_s=tuple([now - start for start, _ in self.busy.values()]),
                        ringing_elapsed_s=tuple([now - t for t in self.ringing.values()]),
                        waiting_answered=len(self.waiting), estimates=estimates)


class Callee(NamedTuple):
    outcome: int              # 0 answer, 1 busy, 2 congestion, 3 no answer
    ring_s: float
    talk_s: float
    machine: bool
    patience_s: float

    @property
    def live(self) -> bool:
        """A person answered (not a machine): the call needs an operator."""
        return self.outcome == 0 and not self.machine


class Callees:
    """The callees a campaign dials, one after another, drawn from its world in blocks (numpy per call is
    slow). The first block is drawn at once, so the random stream is used in the order campaigns are made.
    With a dial plan, who answers is decided when the callee is dialed, at the answer rate of that moment,
    from the same draws (a constant plan gives the same callees as none)."""

    def __init__(self, world: World, rng: np.random.Generator, block: int, plan: DialPlan | None = None) -> None:
        self.world = world
        self.rng = rng
        self.block = block
        self.plan = plan
        self._draw()

    def _draw(self) -> None:
        if self.plan is None:
            b = sample_block(self.world, self.rng, self.block)
            self._rows = list(zip(b.outcome.tolist(), b.ring_s.tolist(), b.talk_s.tolist(), b.machine.tolist(),
                                  b.patience_s.tolist(), strict=True))
        else:
            d = draw_callees(self.world, self.rng, self.block)
            self._rows = list(zip(d.u.tolist(), d.v.tolist(), d.ring_s.tolist(), d.talk_s.tolist(),
                                  d.patience_s.tolist(), strict=True))
        self._next = 0

    def next(self, now: float = 0.0) -> Callee:
        """The next callee, dialed ``now`` (seconds into the day; it matters only under a dial plan)."""
        if self._next == len(self._rows):
            self._draw()
        row = self._rows[self._next]
        self._next += 1
        if self.plan is None:
            return Callee._make(row)
        u, v, ring_s, talk_s, patience_s = row
        w = self.world
        answer_rate = self.plan.at(now).answer_rate
        if u < answer_rate + w.machine_rate:
            return Callee(0, ring_s, talk_s, u >= answer_rate, patience_s)
        if v < w.busy_share:
            return Callee(1, w.busy_s, talk_s, False, patience_s)
        if v < w.busy_share + w.congestion_share:
            return Callee(2, w.congestion_s, talk_s, False, patience_s)
        return Callee(3, w.no_answer_s, talk_s, False, patience_s)


class Day(ABC, Generic[Plan]):
    """The process; subclasses fill in the hooks below (each told the virtual time ``now``)."""

    def __init__(self, operators: int, hours: float, tick_s: float, safe_harbor_s: float,
                 reserved: int = 0) -> None:
        self.floor = DayFloor(operators)
        self.end = hours * 3600.0
        self.floor.day_end_s = self.end
        self.tick_s = tick_s
        self.safe_harbor_s = safe_harbor_s
        self.reserved = reserved
        self.waits: list[float] = []               # operator idle time before each call
        self._events: list[tuple[float, int, int, int]] = []
        self._seq = 0
        self._tick = 0
        self._next_call = 0
        self._waiting_since: dict[int, float] = {}   # answered calls nobody has taken yet

    # ---- what a subclass says ------------------------------------------------------------------------

    @abstractmethod
    def ring_ended(self, call: int, now: float) -> float | None:
        """The callee answered, was busy, or the dialer gave up: tell whoever learns from it. Returns the
        callee's patience if a live person answered (the call then needs an operator), None otherwise."""

    @abstractmethod
    def connected(self, call: int, operator: int, now: float) -> tuple[float, float]:
        """An operator took the call: returns how long they will talk and wrap up."""

    @abstractmethod
    def abandoned(self, call: int, now: float) -> None:
        """Nobody came within the window: the callee hung up."""

    @abstractmethod
    def handle_ended(self, operator: int, talk_start: float, talk_end: float, now: float) -> None:
        """The operator finished wrap-up and is free again."""

    @abstractmethod
    def decide(self, now: float) -> Plan:
        """Ask the pacer how many calls to place."""

    @abstractmethod
    def place(self, plan: Plan, now: float) -> None:
        """Originate the calls the pacer asked for (each through ``dial``); not asked when the plan is
        empty (no call: most ticks)."""

    # ---- the process ---------------------------------------------------------------------------------

    def run(self) -> None:
        floor = self.floor
        self._push(0.0, _TICK, self._tick)
        while self._events:
            now, _, kind, arg = heapq.heappop(self._events)
            if now > self.end:
                break
            floor.now = now
            if kind == _TICK:
                if arg != self._tick:            # a decision happened since this tick was set: stale
                    continue
            elif kind == _RING_END:
                patience_s = self.ring_ended(arg, now)
                if patience_s is not None:
                    self._answered(arg, patience_s, now)
            elif kind == _DEADLINE:
                if arg in self._waiting_since:    # still waiting: nobody came within the window
                    floor.waiting.remove(arg)
                    del self._waiting_since[arg]
                    self.abandoned(arg, now)
                continue                          # nothing else changed: no decision needed
            else:                                 # _HANDLE_END
                self._operator_free(arg, now)
            plan = self.decide(now)
            # As the engine's loop: the next unprompted decision comes tick_s after this one.
            self._tick += 1
            self._push(now + self.tick_s, _TICK, self._tick)
            if plan:
                self.place(plan, now)

    def dial(self, ring_s: float, now: float) -> int:
        """Originate a call that rings for ``ring_s``; returns its number."""
        call = self._next_call
        self._next_call += 1
        self.floor.dials += 1
        self._push(now + ring_s, _RING_END, call)
        return call

    def _answered(self, call: int, patience_s: float, now: float) -> None:
        floor = self.floor
        if floor.free_count > self.reserved:
            self._connect(call, now)
        else:
            floor.waiting.append(call)
            self._waiting_since[call] = now
            self._push(now + min(self.safe_harbor_s, patience_s), _DEADLINE, call)

    def _connect(self, call: int, now: float) -> None:
        floor = self.floor
        operator = floor.free.popleft()
        self.waits.append(now - floor.free_since.pop(operator))
        talk_s, wrap_s = self.connected(call, operator, now)
        floor.busy[operator] = (now, now + talk_s)
        self._push(now + talk_s + wrap_s, _HANDLE_END, operator)

    def _operator_free(self, operator: int, now: float) -> None:
        floor = self.floor
        start, talk_end = floor.busy.pop(operator)
        self.handle_ended(operator, start, talk_end, now)
        floor.free.append(operator)
        floor.free_since[operator] = now
        if floor.waiting and floor.free_count > self.reserved:
            call = floor.waiting.popleft()
            del self._waiting_since[call]
            self._connect(call, now)

    def _push(self, t: float, kind: int, arg: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, kind, arg))
