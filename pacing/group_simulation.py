"""A campaign group's day in virtual time: several campaigns, each with its own callees, one pool of operators.

The same process as ``pacing.simulation`` (a call rings, is answered or not, an answer takes the
longest-idle free operator or waits up to the safe-harbor window and is abandoned), with each call
belonging to a campaign: its callees come from that campaign's world, its outcome feeds that campaign's
estimators and abandonment ledger, and its handle time counts toward that campaign's share. The pacer is
``pacing.pool.plan``, asked on every relevant event and at least every 0.25 s, as the engine asks it.
Reserved operators are kept free: an answer takes an operator only while more than ``reserved`` are free.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pacing.estimators import OnlineEstimators
from pacing.policies import PacingSettings
from pacing.pool import Member, Pool, ShareMeter
from pacing.pool_target import paced_plan
from pacing.simulation import Floor
from pacing.snapshot import Estimates, Snapshot
from pacing.targets import TargetController
from pacing.world import World, sample_block

_RESOLVE, _HANDLE_END, _DEADLINE, _TICK = 0, 1, 2, 3


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
        self.estimators = [OnlineEstimators(Estimates(answer_rate=c.world.answer_rate)) for c in campaigns]
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

    def decide(self, floor: Floor, ringing: Sequence[list[float]], waiting: Sequence[int]) -> dict[str, int]:
        now = floor.now
        # Nothing happened since the plan last said "no call": ask again after a second, not on every tick
        # (as PolicyPacer does; only the elapsed times moved).
        state = (floor.dials, sum(len(r) for r in ringing), len(floor.waiting), floor.free_count)
        if self._quiet is not None and self._quiet[0] == state and now - self._quiet[1] < 1.0:
            return {}
        counts = self._decide(now, floor, ringing, waiting)
        self._quiet = (state, now) if not any(counts.values()) else None
        return counts

    def _decide(self, now: float, floor: Floor, ringing: Sequence[list[float]],
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


def simulate_group(campaigns: Sequence[GroupCampaign], operators: int, hours: float = 8.0, seed: int = 0,
                   reserved: int = 0, target: PacingSettings | None = None, group_ledger: bool = False,
                   tick_s: float = 0.25, safe_harbor_s: float = 2.0) -> GroupReport:
    """Run one day of the group on a pool of ``operators`` (all skilled for every campaign)."""
    if operators < 1 or not 0 <= reserved < operators:
        raise ValueError(f"need operators >= 1 and 0 <= reserved < operators (got {operators}, {reserved})")
    if not campaigns or len({c.name for c in campaigns}) != len(campaigns):
        raise ValueError("a group needs at least one campaign, each with its own name")
    rng = np.random.default_rng(seed)
    pacer = GroupPacer(campaigns, reserved, target, group_ledger)
    end = hours * 3600.0
    floor = Floor(operators)
    k = len(campaigns)
    heap: list[tuple[float, int, int, int]] = []
    seq = next_call = 0
    blocks = [sample_block(c.world, rng, 2048) for c in campaigns]
    used = [0] * k
    calls: dict[int, tuple[int, float, float, bool, float]] = {}   # call → (campaign, ring, talk, live, patience)
    ringing: list[dict[int, float]] = [{} for _ in range(k)]
    waiting_at: dict[int, float] = {}
    on_call: dict[int, int] = {}                                   # operator → campaign
    dials, answers, abandons = [0] * k, [0] * k, [0] * k
    handle = [0.0] * k
    waits: list[float] = []
    wrap = [c.world.wrap_s for c in campaigns]

    def push(t: float, kind: int, arg: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, arg))

    def connect(call: int, now: float) -> None:
        op = floor.free.popleft()
        waits.append(now - floor.free_since.pop(op))
        c, _, talk_s, _, _ = calls.pop(call)
        floor.busy[op] = (now, now + talk_s)
        on_call[op] = c
        handle[c] += min(talk_s + wrap[c], max(0.0, end - now))
        push(now + talk_s + wrap[c], _HANDLE_END, op)

    def dial(c: int, now: float) -> None:
        nonlocal next_call
        b = blocks[c]
        if used[c] == len(b.outcome):
            blocks[c] = b = sample_block(campaigns[c].world, rng, 2048)
            used[c] = 0
        j = used[c]
        used[c] += 1
        live = b.outcome[j] == 0 and not b.machine[j]
        next_call += 1
        calls[next_call] = (c, float(b.ring_s[j]), float(b.talk_s[j]), bool(live), float(b.patience_s[j]))
        ringing[c][next_call] = now
        dials[c] += 1
        floor.dials += 1
        push(now + float(b.ring_s[j]), _RESOLVE, next_call)

    tick_gen = 0
    push(0.0, _TICK, tick_gen)
    while heap:
        now, _, kind, arg = heapq.heappop(heap)
        if now > end:
            break
        floor.now = now
        if kind == _TICK:
            if arg != tick_gen:
                continue
        elif kind == _RESOLVE:
            c, ring_s, _, live, patience_s = calls[arg]
            del ringing[c][arg]
            pacer.estimators[c].observe_dial(now, live, ring_s)
            if not live:
                del calls[arg]
            else:
                answers[c] += 1
                pacer.answers[c] += 1
                if floor.free_count > reserved:
                    connect(arg, now)
                else:
                    floor.waiting.append(arg)
                    waiting_at[arg] = now
                    push(now + min(safe_harbor_s, patience_s), _DEADLINE, arg)
        elif kind == _DEADLINE:
            if arg in waiting_at:
                floor.waiting.remove(arg)
                del waiting_at[arg]
                c = calls.pop(arg)[0]
                abandons[c] += 1
                pacer.abandons[c] += 1
            continue
        else:                                     # _HANDLE_END
            start, talk_end = floor.busy.pop(arg)
            c = on_call.pop(arg)
            pacer.estimators[c].observe_handle(now, talk_end - start, now - talk_end)
            pacer.meter.add(now, campaigns[c].name, now - start)
            floor.free.append(arg)
            floor.free_since[arg] = now
            if floor.waiting and floor.free_count > reserved:
                call = floor.waiting.popleft()
                del waiting_at[call]
                connect(call, now)
        elapsed = [[now - t for t in r.values()] for r in ringing]
        waiting = [0] * k
        for call in floor.waiting:
            waiting[calls[call][0]] += 1
        counts = pacer.decide(floor, elapsed, waiting)
        tick_gen += 1
        push(now + tick_s, _TICK, tick_gen)
        for i, c in enumerate(campaigns):
            for _ in range(counts.get(c.name, 0)):
                dial(i, now)
    return _report(campaigns, operators, reserved, hours, seed, handle, dials, answers, abandons, waits)


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
