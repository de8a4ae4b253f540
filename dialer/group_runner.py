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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from dialer.floor import BUSY_STATES, Floor, OperatorState
from dialer.ledger import AbandonLedger
from dialer.pacing_loop import PacingLoop
from dialer.runner import CampaignRunner, Snapshotter
from lists.groups import CampaignGroup
from pacing.abandonment import AbandonmentController
from pacing.policies import PacingSettings, calls_to_place, lines_room
from pacing.pool import Member, Pool, ShareMeter, plan


class GroupRunner(PacingLoop):
    def __init__(self, group: CampaignGroup, *, floor: Floor, snapshot: Snapshotter, tick_s: float,
                 can_dial: Callable[[], bool]) -> None:
        super().__init__(f"group-{group.name}", tick_s)
        self.group = group
        self.members: dict[int, CampaignRunner] = {}
        self.meter = ShareMeter()                              # ended handles (talk + wrap-up) per member
        self.total_s: dict[int, float] = {}                    # the same, never forgotten (for the views)
        self.handles: dict[int, tuple[int, float]] = {}        # operator id → (member campaign id, loop start)
        self.placed: dict[int, int] = {}                       # calls placed per member since the start
        self.ledger: AbandonLedger | None = None               # group-level ledger (group_ledger on)
        self.controller: AbandonmentController | None = None
        self.alpha: float | None = None                        # the group ledger's α, when it binds
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
        self.wake()

    def use_ledger(self, ledger: AbandonLedger | None) -> None:
        self.ledger = ledger
        self.controller = None if ledger is None else AbandonmentController(
            setpoint=min(r.settings.target_abandon for r in self.members.values()),
            cap=min(r.settings.abandon_cap for r in self.members.values()))
        for runner in self.members.values():
            runner.ledger.group = ledger

    # ---- the pool --------------------------------------------------------------------------------

    def pool(self, now: float) -> Pool:
        """Free operators skilled for at least one member (each counted once), busy ones, the reserve."""
        members = set(self.members)
        free = busy = 0
        elapsed = []
        for operator in self._floor.operators.values():
            if operator.campaigns.isdisjoint(members):
                continue
            if operator.state is OperatorState.READY:
                free += 1
            elif operator.state in BUSY_STATES:
                busy += 1
                elapsed.append(now - (operator.talk_started if operator.talk_started is not None else operator.since))
        return Pool(free_operators=free, busy_elapsed_s=tuple(elapsed), reserved=self.group.reserved)

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

    def used_s(self, now: float) -> dict[str, float]:
        """Handle seconds per member: ended handles (forgotten with a half-life) plus those under way."""
        used = self.meter.used(now)
        for campaign_id, start in self.handles.values():
            used[str(campaign_id)] = used.get(str(campaign_id), 0.0) + (now - start)
        return used

    # ---- deciding --------------------------------------------------------------------------------

    def _timeout(self) -> float:
        predictive = any(r.settings.mode == "predictive" for r in self.members.values())
        return self._tick_s if predictive else max(self._tick_s, 1.0)

    def _group_bound(self, now: float) -> None:
        """The group ledger's α and fall-back (only with group_ledger on)."""
        if self.ledger is None or self.controller is None:
            self.alpha, self.fallback = None, False
            return
        answers, abandons = self.ledger.counts(now)
        decision = self.controller.update(now, answers, abandons)
        self.alpha, self.fallback = decision.alpha, decision.fallback

    def _member_settings(self, runner: CampaignRunner, now: float) -> tuple[PacingSettings, float | None]:
        settings = runner.effective_settings(now)
        alpha = runner.alpha
        if settings.mode == "predictive" and self.ledger is not None:
            if self.fallback:
                settings = replace(settings, mode="progressive")
            if self.alpha is not None:
                alpha = self.alpha if alpha is None else min(alpha, self.alpha)
        return settings, alpha

    def members_now(self, now: float) -> list[Member]:
        self._group_bound(now)
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
        wanted = allocate(self.pool(now), self.members_now(now), self.used_s(now))
        self.decisions += 1
        for name, calls in wanted.items():
            runner = self.members.get(int(name))
            if calls > 0 and runner is not None:
                self.placed[runner.campaign.id] = self.placed.get(runner.campaign.id, 0) + await runner.place(calls)



def allocate(pool: Pool, members: Sequence[Member], used_s: Mapping[str, float]) -> dict[str, int]:
    """``pacing.pool.plan``, bounded per member by the operators who work its campaign (``skilled_room``).
    What a bounded member cannot use flows to the others: they are planned again without it, against the
    free operators its own calls do not take."""
    wanted = plan(pool, members, used_s)
    room = {m.name: skilled_room(m) for m in members}
    bounded = {name: room[name] for name, calls in wanted.items() if calls > room[name]}
    if not bounded:
        return wanted
    rest = [replace(m, has_work=False) if m.name in bounded else m for m in members]
    smaller = replace(pool, free_operators=max(0, pool.free_operators - sum(bounded.values())))
    again = plan(smaller, rest, used_s)
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
