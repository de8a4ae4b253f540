"""A campaign group's day in virtual time: several campaigns, each with its own callees, one pool of operators.

The same process as ``pacing.simulation`` (``pacing.day``: a call rings, is answered or not, an answer takes the
longest-idle free operator or waits up to the safe-harbor window and is abandoned), with each call
belonging to a campaign: its callees come from that campaign's world, its outcome feeds that campaign's
estimators and abandonment ledger, and its handle time counts toward that campaign's share. The pacer is
``pacing.pool.plan``, asked on every relevant event and at least every 0.25 s, as the engine asks it.
Reserved operators are kept free: an answer takes an operator only while more than ``reserved`` are free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pacing.day import Callee, Callees, Day, DayFloor
from pacing.estimators import OnlineEstimators
from pacing.policies import PacingSettings
from pacing.pool import Member, Pool, ShareMeter
from pacing.pool_target import paced_plan
from pacing.snapshot import Estimates, Snapshot
from pacing.targets import TargetController
from pacing.world import World


@dataclass(frozen=True)
class GroupCampaign:
    name: str
    world: World
    share: float = 1.0
    priority: int = 0
    settings: PacingSettings = field(default_factory=lambda: PacingSettings(mode="predictive"))
    work_hours: tuple[float, float] | None = None    # (from, to) hours of the day with leads; None: all day

    def has_work(self, now: float) -> bool:
        return self.work_hours is None or self.work_hours[0] * 3600 <= now < self.work_hours[1] * 3600


@dataclass(frozen=True)
class CampaignFigures:
    name: str
    target_share: float       # configured share, normalized
    share: float              # realized share of the pool's handle time (talk + wrap-up)
    dials: int
    answers: int
    abandons: int
    abandon_rate: float
    handle_s: float


@dataclass(frozen=True)
class GroupReport:
    operators: int
    reserved: int
    hours: float
    seed: int
    occupancy: float          # handle time / logged-in time of the operators dialed for (reserved excluded)
    mean_wait_s: float        # operator idle time before each call
    p95_wait_s: float
    abandon_rate: float       # the pool's (a group-level ledger would count this)
    campaigns: tuple[CampaignFigures, ...]

    def share_error(self) -> float:
        """Largest gap between a realized and a configured share, in points (0.03 = 3 points)."""
        return max(abs(c.share - c.target_share) for c in self.campaigns)


class GroupPacer:
    """Per campaign: online estimates and its own controller (its own ledger and α); per pool: the share
    meter, an optional pool-level target, and ``plan``."""

    def __init__(self, campaigns: Sequence[GroupCampaign], reserved: int = 0,
                 target: PacingSettings | None = None, group_ledger: bool = False) -> None:
        self.campaigns = tuple(campaigns)
        self.reserved = reserved
        self.group_ledger = group_ledger
        self._careful = [replace(c.settings, mode="progressive") if c.settings.mode == "predictive" else c.settings
                         for c in campaigns]
        # The handle time as before the censored estimator of PolicyPacer (finished calls, 2-minute half-life):
        # with the long censored memory the pool's occupancy came out lower, but by about as much as single
        # early abandons swing such days (a campaign falls back to progressive), so the cause is not
        # settled; until it is, groups keep this (benchmarks/results/pacing-notes.md).
        self.estimators = [OnlineEstimators(Estimates(answer_rate=c.world.answer_rate), handle_half_life_s=120.0)
                           for c in campaigns]
        # Wait and busy factor are the pool's figures: in a group they are the group's target (``target``);
        # each campaign's own controller keeps its abandonment setpoint and ledger.
        self.controllers = [TargetController(replace(c.settings, optimize="abandon", optimize_target=None)
                                             if c.settings.optimize != "abandon" else c.settings)
                            for c in campaigns]
        # The pool's own controller: its target (wait, busy) and, with a group-level ledger, the abandonment
        # counted per call centre (then it alone decides α and the fall-back).
        self.pool_target = TargetController(target or campaigns[0].settings) \
            if group_ledger or (target is not None and target.optimize != "abandon") else None
        self.meter = ShareMeter()
        self.answers = [0] * len(campaigns)
        self.abandons = [0] * len(campaigns)
        self._estimates = [e.estimates() for e in self.estimators]
        self._refreshed = -math.inf
        self._decided = -math.inf
        self._abandons_seen = 0
        self._alphas: list[tuple[float, bool]] = [(c.settings.target_abandon, False) for c in campaigns]
        self._quiet: tuple[tuple[int, int, int, int], float] | None = None

    def _update_controllers(self, now: float, free: int, busy: int, risk: list[float]) -> None:
        pool_alpha = math.inf
        if self.pool_target is not None:
            decision = self.pool_target.update(now, sum(self.answers), sum(self.abandons), free, busy,
                                               1.0 + sum(risk) - len(risk))
            pool_alpha = decision.alpha
            if self.group_ledger:
                self._alphas = [(decision.alpha, decision.fallback)] * len(self.campaigns)
                return
        self._alphas = []
        for i, controller in enumerate(self.controllers):
            decision = controller.update(now, self.answers[i], self.abandons[i], free, busy, risk[i])
            self._alphas.append((min(decision.alpha, pool_alpha), decision.fallback))

    def decide(self, floor: DayFloor, ringing: Sequence[list[float]], waiting: Sequence[int]) -> dict[str, int]:
        now = floor.now
        # Nothing happened since the plan last said "no call": ask again after a second, not on every tick
        # (as PolicyPacer does; only the elapsed times moved).
        state = (floor.dials, sum(len(r) for r in ringing), len(floor.waiting), floor.free_count)
        if self._quiet is not None and self._quiet[0] == state and now - self._quiet[1] < 1.0:
            return {}
        counts = self._decide(now, floor, ringing, waiting)
        self._quiet = (state, now) if not any(counts.values()) else None
        return counts

    def _decide(self, now: float, floor: DayFloor, ringing: Sequence[list[float]],
                waiting: Sequence[int]) -> dict[str, int]:
        if now - self._refreshed >= 15.0:
            self._estimates = [e.estimates() for e in self.estimators]
            self._refreshed = now
        if now - self._decided >= 1.0 or sum(self.abandons) != self._abandons_seen:
            # abandons that calls in flight may still bring (as PolicyPacer counts them)
            risk = [1.0 + 0.1 * (len(ringing[i]) * self._estimates[i].answer_rate + waiting[i])
                    for i in range(len(self.campaigns))]
            self._update_controllers(now, floor.free_count - self.reserved, len(floor.busy), risk)
            self._decided = now
            self._abandons_seen = sum(self.abandons)
        members = []
        for i, c in enumerate(self.campaigns):
            alpha, fallback = self._alphas[i]
            settings = self._careful[i] if fallback else c.settings
            snapshot = Snapshot(0, (), tuple(ringing[i]), waiting[i], self._estimates[i])
            members.append(Member(c.name, c.share, snapshot, settings, alpha, c.priority, c.has_work(now)))
        pool = Pool(floor.free_count, tuple(now - start for start, _ in floor.busy.values()), self.reserved)
        used = self.meter.used(now, {m.name: m.share for m in members if m.has_work})
        careful = [replace(m, settings=self._careful[i]) for i, m in enumerate(members)]
        return paced_plan(now, pool, members, careful, used, self.pool_target)


class _GroupDay(Day[dict[str, int]]):
    """A group's day: each call belongs to a campaign, whose world it comes from and whose estimators,
    ledger and share hear of it; one ``GroupPacer`` plans for all."""

    def __init__(self, campaigns: Sequence[GroupCampaign], operators: int, pacer: GroupPacer, hours: float,
                 seed: int, tick_s: float, safe_harbor_s: float) -> None:
        super().__init__(operators, hours, tick_s, safe_harbor_s, pacer.reserved)
        rng = np.random.default_rng(seed)
        self.campaigns = campaigns
        self.pacer = pacer
        self.callees = [Callees(c.world, rng, 2048) for c in campaigns]
        k = len(campaigns)
        self.calls: dict[int, tuple[int, Callee]] = {}           # call → (campaign, callee)
        self.ringing: list[dict[int, float]] = [{} for _ in range(k)]
        self.on_call: dict[int, int] = {}                          # operator → campaign
        self.dials, self.answers, self.abandons = [0] * k, [0] * k, [0] * k
        self.handle = [0.0] * k                                    # talk + wrap-up within the day

    def ring_ended(self, call: int, now: float) -> float | None:
        c, callee = self.calls[call]
        del self.ringing[c][call]
        live = callee.live
        self.pacer.estimators[c].observe_dial(now, live, callee.ring_s)
        if not live:
            del self.calls[call]
            return None
        self.answers[c] += 1
        self.pacer.answers[c] += 1
        return callee.patience_s

    def connected(self, call: int, operator: int, now: float) -> tuple[float, float]:
        c, callee = self.calls.pop(call)
        wrap_s = self.campaigns[c].world.wrap_s
        self.on_call[operator] = c
        self.handle[c] += min(callee.talk_s + wrap_s, max(0.0, self.end - now))
        return callee.talk_s, wrap_s

    def abandoned(self, call: int, now: float) -> None:
        c = self.calls.pop(call)[0]
        self.abandons[c] += 1
        self.pacer.abandons[c] += 1

    def handle_ended(self, operator: int, talk_start: float, talk_end: float, now: float) -> None:
        c = self.on_call.pop(operator)
        self.pacer.estimators[c].observe_handle(now, talk_end - talk_start, now - talk_end)
        self.pacer.meter.add(now, self.campaigns[c].name, now - talk_start)

    def decide(self, now: float) -> dict[str, int]:
        elapsed = [[now - t for t in r.values()] for r in self.ringing]
        waiting = [0] * len(self.campaigns)
        for call in self.floor.waiting:
            waiting[self.calls[call][0]] += 1
        return self.pacer.decide(self.floor, elapsed, waiting)

    def place(self, plan: dict[str, int], now: float) -> None:
        for c, campaign in enumerate(self.campaigns):
            for _ in range(plan.get(campaign.name, 0)):
                callee = self.callees[c].next()
                call = self.dial(callee.ring_s, now)
                self.calls[call] = (c, callee)
                self.ringing[c][call] = now
                self.dials[c] += 1


def simulate_group(campaigns: Sequence[GroupCampaign], operators: int, hours: float = 8.0, seed: int = 0,
                   reserved: int = 0, target: PacingSettings | None = None, group_ledger: bool = False,
                   tick_s: float = 0.25, safe_harbor_s: float = 2.0) -> GroupReport:
    """Run one day of the group on a pool of ``operators`` (all skilled for every campaign)."""
    if operators < 1 or not 0 <= reserved < operators:
        raise ValueError(f"need operators >= 1 and 0 <= reserved < operators (got {operators}, {reserved})")
    if not campaigns or len({c.name for c in campaigns}) != len(campaigns):
        raise ValueError("a group needs at least one campaign, each with its own name")
    pacer = GroupPacer(campaigns, reserved, target, group_ledger)
    day = _GroupDay(campaigns, operators, pacer, hours, seed, tick_s, safe_harbor_s)
    day.run()
    return _report(campaigns, operators, reserved, hours, seed, day.handle, day.dials, day.answers, day.abandons,
                   day.waits)


def _report(campaigns: Sequence[GroupCampaign], operators: int, reserved: int, hours: float, seed: int,
            handle: list[float], dials: list[int], answers: list[int], abandons: list[int],
            waits: list[float]) -> GroupReport:
    total_share = sum(c.share for c in campaigns)
    total_handle = max(sum(handle), 1e-9)
    figures = tuple(CampaignFigures(c.name, c.share / total_share, handle[i] / total_handle, dials[i], answers[i],
                                    abandons[i], abandons[i] / max(answers[i], 1), handle[i])
                    for i, c in enumerate(campaigns))
    waits_arr = np.asarray(waits) if waits else np.zeros(1)
    return GroupReport(operators, reserved, hours, seed, sum(handle) / ((operators - reserved) * hours * 3600.0),
                       float(waits_arr.mean()), float(np.percentile(waits_arr, 95)),
                       sum(abandons) / max(sum(answers), 1), figures)
