"""A campaign day in virtual time: operators, callees and a pacer, as a discrete-event simulation.

It reads like the process it models (``pacing.day``): a pacer originates calls; each call rings until the
callee answers, is busy, or the dialer gives up; a live answer takes the longest-idle free operator or
waits, and is abandoned if nobody is free within the safe-harbor window (2 s); the operator talks, wraps
up, and is free again. Here the callees come from one world and one pacer hears of every outcome; it is
asked how many calls to place on every relevant event (answer, failed dial, operator freed) and at least
every 0.25 s, as in the engine. A dial plan (``pacing.dial_plan``) may move the answer rate and the category
dialed through the day; each dial carries what the dialer knows of it, for the pacers that read it; the
legal window may start with earlier days' answers and abandons in it (``pacing.legal_window``). Pure
Python and numpy, no asyncio: an 8-hour day runs in seconds and the same seed gives the same day.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Protocol

import numpy as np

from pacing.abandonment import AlphaDecision
from pacing.answer_model import AnswerModel
from pacing.day import Callee, Callees, Day, DayFloor
from pacing.dial_features import DialFeatures
from pacing.dial_plan import DialPlan, constant_plan
from pacing.estimators import OnlineEstimators
from pacing.floor_outlook import FloorOutlook
from pacing.hour_ahead import window_ends, windows_ahead
from pacing.legal_window import Quarter, WindowHistory, quarters_of, worst_window
from pacing.policies import PacingSettings, calls_to_place
from pacing.snapshot import Estimates, Snapshot
from pacing.targets import TargetController
from pacing.world import World


class Pacer(Protocol):
    """Anything that decides how many calls to place; told what happens on the floor."""
    name: str

    def decide(self, floor: DayFloor) -> int: ...
    def on_dial_end(self, now: float, live: bool, machine: bool, ring_s: float) -> None: ...
    def on_connect(self, now: float) -> None: ...
    def on_abandon(self, now: float) -> None: ...
    def on_handle_end(self, now: float, talk_s: float, wrap_s: float) -> None: ...


class DialAwarePacer(Pacer, Protocol):
    """A pacer that reads each dial: told what the dialer knew of it (``DialFeatures``) when it is placed and
    when it ends. It sees the same of the calls ringing now (``DayFloor.features``, by call) and of the calls it
    would place next (``DayFloor.next_features``). The simulation calls these only on pacers that have them."""

    def on_placed(self, now: float, call: int, features: DialFeatures) -> None: ...
    def on_outcome(self, now: float, call: int, features: DialFeatures, live: bool, machine: bool) -> None: ...


class PolicyPacer:
    """Our policies (progressive, ratio, predictive) as the engine runs them: online estimates, the
    outer controller over the day (abandonment, or the settings' optimization target under it), and
    ``calls_to_place``."""

    def __init__(self, settings: PacingSettings, prior: Estimates | None = None,
                 fixed_alpha: float | None = None, informed: bool = True,
                 answer_model: AnswerModel | None = None) -> None:
        self.settings = settings
        self.fixed_alpha = fixed_alpha
        self.name = settings.mode
        self.estimators = OnlineEstimators(prior)
        # ``informed``: as the engine, each call with its own chance of an answer (pacing.answer_model) and
        # the setpoint from the confidence bound over the day ahead; False: one rate, the fixed setpoint.
        self.outlook = FloorOutlook(answer_model or AnswerModel(self.estimators.prior.answer_rate)) \
            if informed else None
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
        if self.outlook is not None:
            self.outlook.abandoned(now)

    def on_placed(self, now: float, call: int, features: DialFeatures) -> None:
        if self.outlook is not None:
            self.outlook.placed(call, features)

    def on_outcome(self, now: float, call: int, features: DialFeatures, live: bool, machine: bool) -> None:
        if self.outlook is not None:
            self.outlook.outcome(now, call, features, live)

    def _snapshot(self, floor: DayFloor) -> Snapshot:
        snapshot = floor.snapshot(self._estimates)
        if self.outlook is None:
            return snapshot
        return replace(snapshot, ringing_answer_p=self.outlook.ringing_p(floor.ringing),
                       next_answer_p=self.outlook.next_p(floor.next_features))

    def on_handle_end(self, now: float, talk_s: float, wrap_s: float) -> None:
        self.estimators.observe_handle(now, talk_s, wrap_s)
        self._dirty = True

    def _windows_ahead(self, floor: DayFloor) -> np.ndarray | tuple[()]:
        """The legal window ending at each minute of the next hour, as the engine guards it: with earlier days in
        it, their answers leave as the clock moves on (today's never leave a window as long as the day or longer)."""
        if floor.history is None:
            return ()
        left = None if floor.day_end_s is None else floor.day_end_s - floor.now
        pace = 0.0 if self.outlook is None else self.outlook.pace(floor.now)
        return windows_ahead(floor.window_counts_staying_at(window_ends(floor.now)), pace, left)

    def decide(self, floor: DayFloor) -> int:
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
            # the calls still with an operator are censored handle times (pacing.estimators.HandleTimes)
            self._estimates = self.estimators.estimates(tuple([now - start for start, _ in floor.busy.values()]))
            self._dirty = False
            self._refreshed = now
        if self._decision is None or now - self._decided >= 1.0 or self.abandons != self._abandons_seen:
            answering = len(floor.ringing) * self._estimates.answer_rate + len(floor.waiting)   # live answers to come
            risk = 1.0 + 0.1 * answering
            answers, abandons = floor.window_counts()        # the legal window's, earlier days included
            outlook = self.outlook
            to_come = None if outlook is None else outlook.answers_to_come(now, floor.day_end_s)
            guard = outlook is not None and settings.max_hour_abandon is not None
            hour = outlook.hour(now) if guard else None
            ahead = outlook.hours_ahead(now) if guard else ()
            # the bound counts what is still in the window when the day ends; α is the category's dialed next
            staying = None if to_come is None or floor.day_end_s is None \
                else floor.window_counts_staying(floor.day_end_s)
            category = None if outlook is None else floor.next_features(1)[0].category
            windows = self._windows_ahead(floor)
            self._decision = self.controller.update(now, answers, abandons, floor.free_count, len(floor.busy), risk,
                                                    answers_to_come=to_come, hour=hour, staying=staying,
                                                    category=category, hours_ahead=ahead, windows_ahead=windows,
                                                    in_flight_answers=answering)
            self._decided = now
            self._abandons_seen = self.abandons
        if self.fixed_alpha is None and self._decision.fallback:
            return progressive
        alpha = self.fixed_alpha if self.fixed_alpha is not None else self._decision.alpha
        if self.fixed_alpha is None:      # a wait or busy target may pace it below predictive
            n = self.controller.throttle(now, progressive, room,
                                         lambda: calls_to_place(self._snapshot(floor), settings, alpha))
        else:
            n = calls_to_place(self._snapshot(floor), settings, alpha)
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
    window_abandon_rate: float = 0.0        # the legal window ending with the day, earlier days included
    worst_window_abandon_rate: float = 0.0  # its worst minute (windows of at least 100 answers)
    quarters: tuple[Quarter, ...] = ()      # dials, answers and abandons per 15 minutes

    def as_dict(self) -> dict[str, object]:
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


class _CampaignDay(Day[int]):
    """One campaign's day: its callees come from one world, and one pacer hears of every outcome."""

    def __init__(self, world: World, operators: int, pacer: Pacer, hours: float, seed: int, tick_s: float,
                 safe_harbor_s: float, plan: DialPlan | None, history: WindowHistory | None) -> None:
        super().__init__(operators, hours, tick_s, safe_harbor_s)
        self.callees = Callees(world, np.random.default_rng(seed), 4096, plan)
        self.floor.plan = plan or constant_plan(world.answer_rate)
        self.floor.history = history
        self.pacer = pacer
        self.aware: DialAwarePacer | None = pacer if hasattr(pacer, "on_placed") else None  # type: ignore[assignment]
        self.dial_times: list[float] = []
        self.wrap_s = world.wrap_s
        self.calls: dict[int, Callee] = {}
        self.talk_total = 0.0
        self.busy_total = 0.0               # talk + wrap-up
        self.answer_times: list[float] = []
        self.abandon_times: list[float] = []

    def ring_ended(self, call: int, now: float) -> float | None:
        callee = self.calls[call]
        del self.floor.ringing[call]
        features = self.floor.features.pop(call)
        answered = callee.outcome == 0
        live = answered and not callee.machine
        self.pacer.on_dial_end(now, live, answered and callee.machine, callee.ring_s)
        if self.aware is not None:
            self.aware.on_outcome(now, call, features, live, answered and callee.machine)
        if not live:
            self.floor.machines += answered
            del self.calls[call]
            return None
        self.floor.answers += 1
        self.answer_times.append(now)
        return callee.patience_s

    def connected(self, call: int, operator: int, now: float) -> tuple[float, float]:
        talk_s = self.calls.pop(call).talk_s
        left = max(0.0, self.end - now)
        self.talk_total += min(talk_s, left)
        self.busy_total += min(talk_s + self.wrap_s, left)
        self.pacer.on_connect(now)
        return talk_s, self.wrap_s

    def abandoned(self, call: int, now: float) -> None:
        del self.calls[call]
        self.floor.abandons += 1
        self.abandon_times.append(now)
        self.pacer.on_abandon(now)

    def handle_ended(self, operator: int, talk_start: float, talk_end: float, now: float) -> None:
        self.pacer.on_handle_end(now, talk_end - talk_start, now - talk_end)

    def decide(self, now: float) -> int:
        return self.pacer.decide(self.floor)

    def place(self, plan: int, now: float) -> None:
        features = self.floor.next_features(1)[0]
        for _ in range(max(0, plan)):
            callee = self.callees.next(now)
            call = self.dial(callee.ring_s, now)
            self.calls[call] = callee
            self.floor.ringing[call] = now
            self.floor.features[call] = features
            self.dial_times.append(now)
            if self.aware is not None:
                self.aware.on_placed(now, call, features)


def simulate(world: World, operators: int, pacer: Pacer, hours: float = 8.0, seed: int = 0,
             tick_s: float = 0.25, safe_harbor_s: float = 2.0, plan: DialPlan | None = None,
             history: WindowHistory | None = None) -> SimulationReport:
    """Run one day; the pacer is asked on every relevant event and every ``tick_s``. ``plan``: the answer
    rate and the category dialed through the day (``pacing.dial_plan``; none: the world's answer rate all
    day). ``history``: the earlier days' answers and abandons still in the legal window (none: the window
    starts with the day)."""
    if operators < 1:
        raise ValueError("operators must be at least 1")
    day = _CampaignDay(world, operators, pacer, hours, seed, tick_s, safe_harbor_s, plan, history)
    day.run()
    floor, end = day.floor, day.end
    floor.now = end
    window = floor.window_counts()
    waits_arr = np.asarray(day.waits) if day.waits else np.zeros(1)
    logged = operators * end
    return SimulationReport(
        pacer=pacer.name, operators=operators, hours=hours, seed=seed,
        occupancy=day.busy_total / logged,
        talk_minutes_per_operator_hour=day.talk_total / 60.0 / (logged / 3600.0),
        abandon_rate=floor.abandons / max(floor.answers, 1),
        worst_hour_abandon_rate=_worst_window(day.answer_times, day.abandon_times, end, 3600.0),
        mean_wait_s=float(waits_arr.mean()), p95_wait_s=float(np.percentile(waits_arr, 95)),
        dials_per_answer=floor.dials / max(floor.answers, 1), dials=floor.dials, answers=floor.answers,
        abandons=floor.abandons, window_abandon_rate=window[1] / max(window[0], 1),
        worst_window_abandon_rate=worst_window(history, day.answer_times, day.abandon_times, end),
        quarters=quarters_of(end, day.dial_times, day.answer_times, day.abandon_times))
