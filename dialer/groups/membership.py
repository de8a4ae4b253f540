"""The engine's campaign groups: which running campaign paces in which group, kept in step with the store.

The engine hands every new campaign runner to ``adopt``: a campaign of a group joins the group's loop
(``GroupRunner``), any other runs its own. The control plane calls ``sync`` after each change it hears
of (``dialer group …`` NOTIFYs campaign_changed), so shares, priorities, the reserve, the group's pacing
settings and membership apply within a second. The floor tells us when an operator starts and ends the
handle of a member's call, which the group's share meter counts.
"""

from __future__ import annotations

import asyncio
import logging

from dialer.call import channel_id_of
from dialer.floor import BUSY_STATES, FloorOperator, OperatorState, PoolReserve
from dialer.groups.runner import GroupRunner
from dialer.ledger import AbandonLedger
from dialer.runner import CampaignRunner
from dialer.surface import EngineSurface
from lists import groups
from lists.groups import CampaignGroup

log = logging.getLogger(__name__)


class CampaignGroups:
    def __init__(self, engine: EngineSurface) -> None:
        self._engine = engine
        self.runners: dict[int, GroupRunner] = {}     # group id → its loop
        self.group_of: dict[int, int] = {}            # member campaign id → group id
        engine.floor.subscribe(self._operator_changed)

    async def adopt(self, runner: CampaignRunner) -> None:
        """A campaign starts running: pace it in its group's loop, or alone."""
        group = await groups.group_of(self._engine.db, runner.campaign.id)
        if group is None:
            self._warn_if_shared(runner)
            runner.start()
        else:
            await self._join(group, runner)

    async def release(self, campaign_id: int) -> None:
        """A campaign stopped running (its runner is stopped already)."""
        await self._leave(campaign_id)

    async def sync(self) -> None:
        """Apply the store's groups to the running campaigns: live changes, joins and leaves."""
        engine = self._engine
        by_campaign = {m.campaign_id: g for g in await groups.all_groups(engine.db) for m in g.members}
        for campaign_id, runner in list(engine.runners.items()):
            group = by_campaign.get(campaign_id)
            current = self.group_of.get(campaign_id)
            if (group.id if group is not None else None) == current:
                continue
            if current is not None:
                await self._leave(campaign_id)
            else:
                await runner.stop()          # its own loop; the group's loop paces it from now on
            if group is None:
                runner.start()
            else:
                await self._join(group, runner)
        for group in {g.id: g for g in by_campaign.values()}.values():
            if (group_runner := self.runners.get(group.id)) is not None and group_runner.group != group:
                await self._configure(group_runner, group)
        for group_id, group_runner in list(self.runners.items()):
            if group_id not in {g.id for g in by_campaign.values()} and not group_runner.members:
                await self._drop(group_id)

    async def stop(self) -> None:
        for group_runner in self.runners.values():
            await group_runner.stop()

    # ---- inside ----------------------------------------------------------------------------------

    def _warn_if_shared(self, runner: CampaignRunner) -> None:
        """Two campaigns pacing alone with shared operators each count a shared free operator as theirs."""
        campaign_id = runner.campaign.id
        others = {c for o in self._engine.floor.operators.values() if campaign_id in o.campaigns
                  for c in o.campaigns if c != campaign_id and c in self._engine.runners}
        if others:
            names = ", ".join(sorted(self._engine.runners[c].campaign.name for c in others))
            log.warning("campaign %s shares operators with %s but is in no campaign group with them: each counts "
                        "a shared free operator as its own and may dial twice for one person (put them in one "
                        "group: dialer group create NAME; dialer group add NAME CAMPAIGN)", runner.campaign.name,
                        names)

    async def _join(self, group: CampaignGroup, runner: CampaignRunner) -> None:
        group_runner = self.runners.get(group.id)
        if group_runner is None:
            engine = self._engine
            group_runner = GroupRunner(group, floor=engine.floor, snapshot=engine.snapshot, tick_s=engine.config.tick_s,
                                       can_dial=engine.can_originate, supervisor=engine.supervisor)
            self.runners[group.id] = group_runner
            group_runner.start()
        group_runner.attach(runner)
        self.group_of[runner.campaign.id] = group.id
        await self._configure(group_runner, group, membership_changed=True)

    async def _leave(self, campaign_id: int) -> None:
        group_id = self.group_of.pop(campaign_id, None)
        self._engine.floor.reserves.pop(campaign_id, None)
        if group_id is None or (group_runner := self.runners.get(group_id)) is None:
            return
        group_runner.detach(campaign_id)
        if not group_runner.members:
            await self._drop(group_id)
        else:
            await self._configure(group_runner, group_runner.group, membership_changed=True)

    async def _drop(self, group_id: int) -> None:
        group_runner = self.runners.pop(group_id)
        await group_runner.stop()

    async def _configure(self, group_runner: GroupRunner, group: CampaignGroup, *,
                         membership_changed: bool = False) -> None:
        """Settings, the floor's reserve and the group ledger (rebuilt from the store when it changes)."""
        ledger_changed = group.group_ledger != (group_runner.ledger is not None)
        group_runner.update(group)
        reserve = PoolReserve(frozenset(group_runner.members), group.reserved)
        for campaign_id in group_runner.members:
            self._engine.floor.reserves[campaign_id] = reserve
        if group.group_ledger and (ledger_changed or membership_changed):
            members = list(group_runner.members.values())
            ledger = AbandonLedger(max(r.settings.window_hours for r in members) * 3600)
            await ledger.seed(self._engine.db, campaign_id=[r.campaign.id for r in members],
                              wall_now=self._engine.clock.now(), loop_now=asyncio.get_running_loop().time(),
                              live=self._engine.calls.values())
            group_runner.use_ledger(ledger)
        elif not group.group_ledger and ledger_changed:
            group_runner.use_ledger(None)

    def _operator_changed(self, operator: FloorOperator, previous: OperatorState, now: float) -> None:
        """Handle time per member: from the hand-off (or a manual call) to the end of the wrap-up."""
        if operator.state is OperatorState.RESERVED:
            # calls are keyed by channel id, attempt-<id>: a lookup, not a scan of every call in flight
            call = self._engine.calls.get(channel_id_of(operator.attempt_id))
            group_id = self.group_of.get(call.campaign_id) if call is not None else None
            if call is not None and group_id is not None:
                self.runners[group_id].handle_started(operator.id, call.campaign_id, now)
        elif previous in BUSY_STATES and operator.state not in BUSY_STATES:
            for group_runner in self.runners.values():
                group_runner.handle_ended(operator.id, now)
