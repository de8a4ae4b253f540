"""One campaign group's pacing loop: the pool's operators → ``pacing.pool.plan`` → each member places its calls.

Campaigns that share operators must not each count a shared free operator as their own: two loops would
both dial for the same person. A group has one loop instead of one per member. On every event and at
least every tick it reads the pool from the floor (free operators skilled for any member, busy ones with
their elapsed handle time, the reserved count) and each member's calls in flight, estimates, effective
settings and α (the member's own ``CampaignRunner`` keeps its ledger and controller), asks the pure
planner how many calls each member places, and has each member place them through the usual path
(compliance gate, caller ID, leases). The handle seconds each member's calls use (``ShareMeter``) steer
the shares.

With ``group_ledger`` on, the abandonment cap also binds over the whole group: a group ledger sees every
member's answers and its controller can lower every member's α or make the pool dial progressive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from dialer.floor import Floor
from dialer.ledger import AbandonLedger
from dialer.pacing_loop import PacingLoop
from dialer.runner import SETTING_NAMES, CampaignRunner, Snapshotter
from dialer.tasks import Supervisor
from dialer.window_outlook import pace
from lists.groups import CampaignGroup
from pacing.hour_ahead import window_ends, windows_ahead
from pacing.policies import PacingSettings, calls_to_place, lines_room
from pacing.pool import Member, Pool, ShareMeter
from pacing.pool_target import paced_plan
from pacing.targets import TargetController


class GroupRunner(PacingLoop):
    def __init__(self, group: CampaignGroup, *, floor: Floor, snapshot: Snapshotter, tick_s: float,
                 can_dial: Callable[[], bool], supervisor: Supervisor | None = None) -> None:
        super().__init__(f"group-{group.name}", tick_s, supervisor)
        self.group = group
        self.members: dict[int, CampaignRunner] = {}
        self.meter = ShareMeter()                              # ended handles (talk + wrap-up) per member
        self.total_s: dict[int, float] = {}                    # the same, never forgotten (for the views)
        self.handles: dict[int, tuple[int, float]] = {}        # operator id → (member campaign id, loop start)
        self.placed: dict[int, int] = {}                       # calls placed per member since the start
        self.ledger: AbandonLedger | None = None               # group-level ledger (group_ledger on)
        # The pool's own controller: the group's wait or busy target (the pool's figures) and, with a group
        # ledger, the abandonment counted per call centre — then it alone decides α and the fall-back.
        self.target: TargetController | None = None
        self._target_for: tuple[str, bool] | None = None       # (group pacing, ledger on) it was built for
        self.alpha: float | None = None                        # the pool controller's α, when there is one
        self.fallback = False
        self._floor = floor
        self._snapshot = snapshot
        self._can_dial = can_dial

    # ---- membership ------------------------------------------------------------------------------

    def attach(self, runner: CampaignRunner) -> None:
        self.members[runner.campaign.id] = runner
        self.placed.setdefault(runner.campaign.id, 0)
        runner.group_wake = self.wake
        runner.ledger.group = self.ledger
        runner.set_defaults(self.group.pacing)
        self.wake()

    def detach(self, campaign_id: int) -> CampaignRunner | None:
        runner = self.members.pop(campaign_id, None)
        if runner is not None:
            runner.group_wake = None
            runner.ledger.group = None
            runner.set_defaults({})
        return runner

    def update(self, group: CampaignGroup) -> None:
        """A live change of shares, priorities, reserved operators or the group's pacing settings."""
        self.group = group
        for runner in self.members.values():
            runner.set_defaults(group.pacing)
        self._build_target()
        self.wake()

    def use_ledger(self, ledger: AbandonLedger | None) -> None:
        self.ledger = ledger
        for runner in self.members.values():
            runner.ledger.group = ledger
        self._build_target()

    def _build_target(self) -> None:
        """A pool controller when the group has a wait or busy target or a group ledger; rebuilt only when
        those settings change (it integrates over time)."""
        key = (json.dumps(self.group.pacing, sort_keys=True), self.ledger is not None)
        if key == self._target_for or not self.members:
            return
        self._target_for = key
        first = next(iter(self.members.values())).settings
        known = {k: v for k, v in self.group.pacing.items() if k in SETTING_NAMES and k != "mode"}
        settings = replace(first, mode="predictive", **known)
        wanted = self.ledger is not None or settings.optimize != "abandon"
        self.target = TargetController(settings) if wanted else None

    # ---- the pool --------------------------------------------------------------------------------

    def pool(self, now: float) -> Pool:
        """Free operators skilled for at least one member (each counted once), busy ones, the reserve."""
        section = self._floor.pool(frozenset(self.members))   # kept by transitions (dialer/sections.py)
        return Pool(free_operators=len(section.free), busy_elapsed_s=section.busy.elapsed(now),
                    reserved=self.group.reserved)

    def handle_started(self, operator_id: int, campaign_id: int, now: float) -> None:
        self.handles[operator_id] = (campaign_id, now)

    def handle_ended(self, operator_id: int, now: float) -> None:
        started = self.handles.pop(operator_id, None)
        if started is not None:
            self.meter.add(now, str(started[0]), now - started[1])
            self.total_s[started[0]] = self.total_s.get(started[0], 0.0) + now - started[1]

    def handle_s(self, now: float) -> dict[int, float]:
        """Handle seconds per member since the loop started, those under way included."""
        total = dict(self.total_s)
        for campaign_id, start in self.handles.values():
            total[campaign_id] = total.get(campaign_id, 0.0) + (now - start)
        return total

    def used_s(self, now: float, shares: Mapping[str, float] | None = None) -> dict[str, float]:
        """Handle seconds per member for the planner: ended handles (a returning member's debt forgiven
        beyond the meter's catch-up, given the ``shares`` of the members with work) plus those under way."""
        used = self.meter.used(now, shares)
        for campaign_id, start in self.handles.values():
            used[str(campaign_id)] = used.get(str(campaign_id), 0.0) + (now - start)
        return used

    # ---- deciding --------------------------------------------------------------------------------

    def _timeout(self) -> float:
        predictive = any(r.settings.mode == "predictive" for r in self.members.values())
        return self._tick_s if predictive else max(self._tick_s, 1.0)

    def _pool_decision(self, now: float, pool: Pool) -> None:
        """The pool controller's α and fall-back from the group ledger (or the members' summed ledgers)
        and the pool's free (reserve excluded) and busy operators."""
        if self.target is None:
            self.alpha, self.fallback = None, False
            return
        windows: np.ndarray | tuple[()] = ()
        if self.ledger is not None:
            answers, abandons = self.ledger.counts(now)
            # the group's window ending over the next hour, guarded as a campaign's (dialer/runner.py)
            windows = windows_ahead(self.ledger.counts_staying_at(now, window_ends(now)), pace(self.ledger, now))
        else:
            counts = [runner.ledger.counts(now) for runner in self.members.values()]
            answers, abandons = sum(a for a, _ in counts), sum(b for _, b in counts)
        decision = self.target.update(now, answers, abandons, pool.supply, len(pool.busy_elapsed_s),
                                      windows_ahead=windows)
        self.alpha, self.fallback = decision.alpha, decision.fallback

    def _member_settings(self, runner: CampaignRunner, now: float) -> tuple[PacingSettings, float | None]:
        """The member's settings and α from its own ledger; the pool controller's bind over them (with a
        group ledger it alone decides, as ``dialer simulate --group-ledger`` does)."""
        settings = runner.effective_settings(now)
        alpha = runner.alpha
        if runner.settings.mode != "predictive" or self.alpha is None:
            return settings, alpha
        if self.ledger is not None:
            return (replace(runner.settings, mode="progressive") if self.fallback else runner.settings), self.alpha
        return settings, self.alpha if alpha is None else min(alpha, self.alpha)

    def members_now(self, now: float, pool: Pool | None = None) -> list[Member]:
        self._pool_decision(now, pool or self.pool(now))
        members = []
        for campaign_id, runner in self.members.items():
            settings, alpha = self._member_settings(runner, now)
            member = self.group.member(campaign_id)
            members.append(Member(
                name=str(campaign_id), share=member.share if member else 1.0,
                snapshot=self._snapshot(campaign_id, settings.mode == "predictive"), settings=settings,
                alpha=alpha, priority=member.priority if member else 0, has_work=runner.has_work(now)))
        return members

    async def _round(self) -> None:
        if not self._can_dial() or not self.members:
            return
        now = asyncio.get_running_loop().time()
        pool = self.pool(now)
        members = self.members_now(now, pool)
        used = self.used_s(now, {m.name: m.share for m in members if m.has_work})
        wanted = allocate(pool, members, used, target=self.target, now=now)
        self.decisions += 1
        for name, calls in wanted.items():
            runner = self.members.get(int(name))
            if calls > 0 and runner is not None:
                self.placed[runner.campaign.id] = self.placed.get(runner.campaign.id, 0) + await runner.place(calls)

def allocate(pool: Pool, members: Sequence[Member], used_s: Mapping[str, float], *,
             target: TargetController | None = None, now: float = 0.0) -> dict[str, int]:
    """The pool's plan (under the group's own target, ``paced_plan``), bounded per member by the operators
    who work its campaign (``skilled_room``). What a bounded member cannot use flows to the others: they
    are planned again without it, against the free operators its own calls do not take."""
    careful = [replace(m, settings=replace(m.settings, mode="progressive")) if m.settings.mode == "predictive"
               else m for m in members]

    def planned(pool: Pool, members: Sequence[Member], careful: Sequence[Member]) -> dict[str, int]:
        return paced_plan(now, pool, members, careful, used_s, target)

    wanted = planned(pool, members, careful)
    room = {m.name: skilled_room(m) for m in members}
    bounded = {name: room[name] for name, calls in wanted.items() if calls > room[name]}
    if not bounded:
        return wanted
    rest = [replace(m, has_work=False) if m.name in bounded else m for m in members]
    rest_careful = [replace(m, has_work=False) if m.name in bounded else m for m in careful]
    smaller = replace(pool, free_operators=max(0, pool.free_operators - sum(bounded.values())))
    again = planned(smaller, rest, rest_careful)
    return {m.name: bounded[m.name] if m.name in bounded else min(again.get(m.name, 0), room[m.name])
            for m in members}

def skilled_room(member: Member) -> int:
    """The most calls a member may place given only the operators who work its campaign.

    The planner has one supply for the pool; when some operators work only some of the campaigns, a member
    could be given more calls than its own operators can take, and its answers would wait for someone who
    may not take them. Its snapshot counts exactly its own operators (free and busy), so the member alone —
    progressive or ratio against its free operators, the lines cap in predictive — bounds it. When every
    operator works every member, this bound is never below the plan's."""
    if member.settings.mode == "predictive":
        return lines_room(member.snapshot, member.settings)
    return calls_to_place(member.snapshot, member.settings, member.alpha)
