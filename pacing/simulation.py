"""A campaign day in virtual time: operators, callees and a pacer, as a discrete-event simulation.

It reads like the process it models: a pacer originates calls; each call rings until the callee
answers, is busy, or the dialer gives up; a live answer takes the longest-idle free operator or waits,
and is abandoned if nobody is free within the safe-harbor window (2 s); the operator talks, wraps up,
and is free again. The pacer is asked how many calls to place on every relevant event (answer, failed
dial, operator freed) and at least every 0.25 s, as in the engine. Pure Python and numpy, no asyncio:
an 8-hour day runs in seconds and the same seed gives the same day.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from pacing.abandonment import AlphaDecision
from pacing.estimators import OnlineEstimators
from pacing.policies import PacingSettings, calls_to_place
from pacing.snapshot import Estimates, Snapshot
from pacing.targets import TargetController
from pacing.world import World, sample_block

_RESOLVE, _HANDLE_END, _DEADLINE, _TICK = 0, 1, 2, 3


class Floor:
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


class Pacer(Protocol):
    """Anything that decides how many calls to place; told what happens on the floor."""
    name: str

    def decide(self, floor: Floor) -> int: ...
    def on_dial_end(self, now: float, live: bool, machine: bool, ring_s: float) -> None: ...
    def on_connect(self, now: float) -> None: ...
    def on_abandon(self, now: float) -> None: ...
    def on_handle_end(self, now: float, talk_s: float, wrap_s: float) -> None: ...


class PolicyPacer:
    """Our policies (progressive, ratio, predictive) as the engine runs them: online estimates, the
    outer controller over the day (abandonment, or the settings' optimization target under it), and
    ``calls_to_place``."""

    def __init__(self, settings: PacingSettings, prior: Estimates | None = None,
                 fixed_alpha: float | None = None) -> None:
        self.settings = settings
        self.fixed_alpha = fixed_alpha
        self.name = settings.mode
        self.estimators = OnlineEstimators(prior)
        self.controller = TargetController(settings)
        self.answers = 0
        self.abandons = 0
        self.alpha_trace: list[float] = []
        self._estimates = self.estimators.estimates()
        self._dirty = False
        self._refreshed = -math.inf
        self._decision: AlphaDecision | None = None
        self._decided = -math.inf
        self._abandons_seen = 0
        self._quiet: tuple[tuple[int, int, int, int], float] | None = None

    def on_dial_end(self, now: float, live: bool, machine: bool, ring_s: float) -> None:
        self.estimators.observe_dial(now, live or machine, ring_s, machine=machine)
        self.answers += live
        self._dirty = True

    def on_connect(self, now: float) -> None:
        pass

    def on_abandon(self, now: float) -> None:
        self.abandons += 1

    def on_handle_end(self, now: float, talk_s: float, wrap_s: float) -> None:
        self.estimators.observe_handle(now, talk_s, wrap_s)
        self._dirty = True

    def decide(self, floor: Floor) -> int:
        settings = self.settings
        in_flight = len(floor.ringing) + len(floor.waiting)
        room = max(0, math.floor(settings.max_lines_per_operator * floor.operators + 1e-9) - in_flight)
        progressive = max(0, min(floor.free_count - in_flight, room))
        if settings.mode != "predictive" or room <= progressive:
            # Same answer calls_to_place would give, without building a snapshot (speed only).
            return calls_to_place(floor.snapshot(self._estimates), settings) if settings.mode == "ratio" \
                else (0 if settings.mode == "preview" else progressive)
        now = floor.now
        # Nothing happened since the model last said "no call" (no dial, answer, hang-up or free): between
        # events only the elapsed times move, slowly against the model's 2-second steps, so the question is
        # put again after a second rather than on every 0.25-s tick (the engine asks every tick; this only
        # makes the simulated dialer a little slower to react, never bolder).
        state = (floor.dials, len(floor.ringing), len(floor.waiting), floor.free_count)
        if self._quiet is not None and self._quiet[0] == state and now - self._quiet[1] < 1.0:
            return 0
        # Estimates move slowly; refreshing them every few seconds is as good as on every dial and
        # keeps the model's per-estimate tables warm. The controller integrates over minutes.
        if self._dirty and now - self._refreshed >= 15.0:
            self._estimates = self.estimators.estimates()
            self._dirty = False
            self._refreshed = now
        if self._decision is None or now - self._decided >= 1.0 or self.abandons != self._abandons_seen:
            risk = 1.0 + 0.1 * (len(floor.ringing) * self._estimates.answer_rate + len(floor.waiting))
            self._decision = self.controller.update(now, self.answers, self.abandons, floor.free_count,
                                                    len(floor.busy), risk)
            self._decided = now
            self._abandons_seen = self.abandons
        if self.fixed_alpha is None and self._decision.fallback:
            return progressive
        alpha = self.fixed_alpha if self.fixed_alpha is not None else self._decision.alpha
        if self.fixed_alpha is None:      # a wait or busy target may pace it below predictive
            n = self.controller.throttle(now, progressive, room,
                                         lambda: calls_to_place(floor.snapshot(self._estimates), settings, alpha))
        else:
            n = calls_to_place(floor.snapshot(self._estimates), settings, alpha)
        self._quiet = (state, now) if n == 0 else None
        return n


@dataclass(frozen=True)
class SimulationReport:
    pacer: str
    operators: int
    hours: float
    seed: int
    occupancy: float                  # (talk + wrap-up) / logged-in time
    talk_minutes_per_operator_hour: float
    abandon_rate: float               # abandons / live answers, whole day
    worst_hour_abandon_rate: float    # worst rolling 60-minute window
    mean_wait_s: float                # operator idle time before each call
    p95_wait_s: float
    dials_per_answer: float
    dials: int
    answers: int
    abandons: int

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _worst_window(answer_times: list[float], abandon_times: list[float], end: float, window_s: float) -> float:
    if end < window_s or not answer_times:
        return len(abandon_times) / max(len(answer_times), 1)
    answers = np.asarray(answer_times)
    abandons = np.asarray(abandon_times)
    ends = np.arange(window_s, end + 1e-9, 60.0)
    n_ans = np.searchsorted(answers, ends, side="right") - np.searchsorted(answers, ends - window_s, side="right")
    n_ab = np.searchsorted(abandons, ends, side="right") - np.searchsorted(abandons, ends - window_s, side="right")
    rates = np.where(n_ans > 0, n_ab / np.maximum(n_ans, 1), 0.0)
    return float(rates.max())


def simulate(world: World, operators: int, pacer: Pacer, hours: float = 8.0, seed: int = 0,
             tick_s: float = 0.25, safe_harbor_s: float = 2.0) -> SimulationReport:
    """Run one day; the pacer is asked on every relevant event and every ``tick_s``."""
    if operators < 1:
        raise ValueError("operators must be at least 1")
    rng = np.random.default_rng(seed)
    end = hours * 3600.0
    floor = Floor(operators)
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    block = sample_block(world, rng, 4096)
    block_i = 0
    outcome = block.outcome.tolist()
    ring = block.ring_s.tolist()
    talk = block.talk_s.tolist()
    machine = block.machine.tolist()
    patience = block.patience_s.tolist()
    calls: dict[int, tuple[int, float, float, bool, float]] = {}   # call → (outcome, ring, talk, machine, patience)
    answered_at: dict[int, float] = {}
    next_call = 0
    talk_total = 0.0
    busy_total = 0.0
    waits: list[float] = []
    answer_times: list[float] = []
    abandon_times: list[float] = []
    wrap = world.wrap_s

    def push(t: float, kind: int, arg: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, arg))

    def connect(call: int, now: float) -> None:
        nonlocal talk_total, busy_total
        op = floor.free.popleft()
        waits.append(now - floor.free_since.pop(op))
        talk_s = calls[call][2]
        floor.busy[op] = (now, now + talk_s)
        talk_total += min(talk_s, max(0.0, end - now))
        busy_total += min(talk_s + wrap, max(0.0, end - now))
        push(now + talk_s + wrap, _HANDLE_END, op)
        del calls[call]
        pacer.on_connect(now)

    tick_gen = 0
    push(0.0, _TICK, tick_gen)
    while heap:
        now, _, kind, arg = heapq.heappop(heap)
        if now > end:
            break
        floor.now = now
        if kind == _TICK:
            if arg != tick_gen:              # a decision happened since this tick was set: stale
                continue
        elif kind == _RESOLVE:
            code, ring_s, _, is_machine, patience_s = calls[arg]
            del floor.ringing[arg]
            live = code == 0 and not is_machine
            pacer.on_dial_end(now, live, code == 0 and is_machine, ring_s)
            if not live:
                floor.machines += code == 0
                del calls[arg]
            else:
                floor.answers += 1
                answer_times.append(now)
                if floor.free:
                    connect(arg, now)
                else:
                    floor.waiting.append(arg)
                    answered_at[arg] = now
                    push(now + min(safe_harbor_s, patience_s), _DEADLINE, arg)
        elif kind == _DEADLINE:
            if arg in answered_at:               # still waiting: nobody came within the window
                floor.waiting.remove(arg)
                del answered_at[arg]
                del calls[arg]
                floor.abandons += 1
                abandon_times.append(now)
                pacer.on_abandon(now)
            continue                              # nothing else changed: no decision needed
        else:                                     # _HANDLE_END
            start, talk_end = floor.busy.pop(arg)
            pacer.on_handle_end(now, talk_end - start, now - talk_end)
            floor.free.append(arg)
            floor.free_since[arg] = now
            if floor.waiting:
                call = floor.waiting.popleft()
                del answered_at[call]
                connect(call, now)
        n = pacer.decide(floor)
        # As the engine's loop: the next unprompted decision comes tick_s after this one.
        tick_gen += 1
        push(now + tick_s, _TICK, tick_gen)
        for _ in range(max(0, n)):
            if block_i == len(outcome):
                block = sample_block(world, rng, 4096)
                outcome, ring, talk = block.outcome.tolist(), block.ring_s.tolist(), block.talk_s.tolist()
                machine, patience = block.machine.tolist(), block.patience_s.tolist()
                block_i = 0
            call = next_call
            next_call += 1
            calls[call] = (outcome[block_i], ring[block_i], talk[block_i], machine[block_i], patience[block_i])
            floor.ringing[call] = now
            push(now + ring[block_i], _RESOLVE, call)
            block_i += 1
            floor.dials += 1
    waits_arr = np.asarray(waits) if waits else np.zeros(1)
    logged = operators * end
    return SimulationReport(
        pacer=pacer.name, operators=operators, hours=hours, seed=seed,
        occupancy=busy_total / logged, talk_minutes_per_operator_hour=talk_total / 60.0 / (logged / 3600.0),
        abandon_rate=floor.abandons / max(floor.answers, 1),
        worst_hour_abandon_rate=_worst_window(answer_times, abandon_times, end, 3600.0),
        mean_wait_s=float(waits_arr.mean()), p95_wait_s=float(np.percentile(waits_arr, 95)),
        dials_per_answer=floor.dials / max(floor.answers, 1), dials=floor.dials, answers=floor.answers,
        abandons=floor.abandons)
