"""The engine: one asyncio process that runs campaigns against one PBX — the composition root.

It composes the rooms: ``lists`` (claims, attempt rows), ``pacing`` (how many calls), ``ami`` (the PBX
port) and ``compliance`` (through the claim), and its own parts, one concept each: dialing rounds and
originate (``dialing.py``), the PBX's call events and outcomes (``call_events.py``), the operators' wrap-up
(``operator_work.py``), the heartbeat (``heartbeat.py``), the counts (``counts.py``). It owns the tasks:
one pacing loop per running campaign, the write-behind recorder, the heartbeat. Its neighbours (recovery,
groups, ownership) see it through ``dialer/surface.py``'s ``EngineSurface``, never its privates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import asyncpg

from ami.cluster import room_of
from ami.pbx import Pbx, PbxEvent
from compliance import store as compliance_store
from compliance.limits import legal_limits
from compliance.presets import preset as find_preset
from dialer.answer_chances import AnswerChances
from dialer.call import Call
from dialer.call_events import CallEvents
from dialer.clock import Clock
from dialer.config import EngineConfig
from dialer.counts import Counts, EngineStats
from dialer.dialing import CampaignOwnership, Dialing
from dialer.floor import Floor, FloorOperator, OperatorState
from dialer.floor_check import FloorCheck
from dialer.groups.membership import CampaignGroups
from dialer.handoff import HandOff
from dialer.heartbeat import beat_forever
from dialer.ledger import AbandonLedger
from dialer.operator_work import OperatorWork
from dialer.phones import RESTART, STOPPED, STOPPED_LONG_AGO, STOPPED_PAUSED, OperatorPhones
from dialer.recorder import Recorder
from dialer.recovery import Recovery
from dialer.refusals import RefusedCalls
from dialer.runner import CampaignRunner, pacing_settings
from dialer.tasks import Supervisor
from dialer.tuning import tuned
from lists import campaigns, operators
from lists.campaigns import Campaign
from pacing.estimators import OnlineEstimators
from pacing.snapshot import Estimates, Snapshot

__all__ = ["Engine", "EngineStats"]

log = logging.getLogger(__name__)

ESTIMATES_EVERY_S = 1.0      # how old a campaign's estimates may be when a decision reads them


class Engine:
    def __init__(self, db: asyncpg.Pool, pbx: Pbx, clock: Clock, config: EngineConfig | None = None) -> None:
        self.db = db
        self.pbx = pbx
        self.clock = clock
        self.config = config or EngineConfig()
        self.floor = Floor()
        self.calls: dict[str, Call] = {}
        self.runners: dict[int, CampaignRunner] = {}
        self.estimators: dict[int, OnlineEstimators] = {}
        # per campaign: the estimators, when and what they last said (``_estimates``)
        self._kept_estimates: dict[int, tuple[OnlineEstimators, float, Estimates]] = {}
        self._estimating: set[int] = set()      # campaigns whose estimates a callback computes again
        self.answer_chances: dict[int, AnswerChances] = {}    # each dial's chance of an answer, per campaign
        self.supervisor = Supervisor()     # every background task: logged and restarted, or the engine stops
        self.recorder = Recorder(db, linger_s=self.config.record_linger_s, tasks=self.supervisor.tasks(),
                                 engine=self.config.name)
        self.handoff = HandOff(pbx, self.floor, self.config, self.call_changed, tasks=self.supervisor.tasks())
        self.counts = Counts()
        self.stats: EngineStats = self.counts.total
        self.campaign_stats: dict[int, EngineStats] = self.counts.by_campaign
        self._tasks = self.supervisor.tasks()
        self.dialing = Dialing(self, self._tasks)
        self.claimers = self.dialing.claimers
        self.operator_work = OperatorWork(self, self._tasks)
        self.wrap_up_listeners: list[Callable[[FloorOperator], None]] = self.operator_work.wrap_up_listeners
        # how operators come onto the floor, and what a lost phone does to them
        self.phones = OperatorPhones(pbx, self.floor, self.config, freed=self.operator_work.free,
                                     leave_call=self.leave_call, tasks=self.supervisor.tasks())
        self._starting = asyncio.Lock()   # the control plane and the ownership beat may both start a campaign
        self.recovery = Recovery(self)
        self.refusals = RefusedCalls(self._refused)   # a route that fails every call pauses its campaign
        self.events = CallEvents(self, self.recovery, self.refusals, self._tasks)
        # campaign groups: one pacing loop per group; it hears operator changes before the hand-off does
        self.groups = CampaignGroups(self)
        pbx.subscribe(self.events.on_event)
        # DIALER_CHECK_FLOOR=1: the live floor compared with a full rebuild after every event and decision
        self.floor_check = FloorCheck(self) if self.config.check_floor else None
        if self.floor_check is not None:
            pbx.subscribe(self.floor_check.after_event)
        self.floor.subscribe(self.operator_work.changed)

    @property
    def ownership(self) -> CampaignOwnership | None:
        """Several engines on one store (``dialer/ownership/campaigns.py``); None: this engine runs alone."""
        return self.dialing.ownership

    def attach_ownership(self, ownership: CampaignOwnership) -> None:
        """Before ``start``: ask ``ownership`` before running a campaign, give campaigns back through it,
        and fence every claim with it."""
        self.dialing.ownership = ownership

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.recorder.start()
        await self.recovery.recover()      # calls a previous run left on the PBX: followed, not redialed
        for campaign in await campaigns.running(self.db):
            await self.run_campaign(campaign)
        self.recovery.resume()             # re-attached calls of campaigns not running end normally too
        self._tasks.keep(self._beat, "heartbeat")

    async def run_campaign(self, campaign: Campaign) -> None:
        async with self._starting:
            try:
                if campaign.id in self.runners or self.ownership is None or await self.ownership.acquire(campaign.id):
                    await self._run_campaign(campaign)
            finally:
                if campaign.id not in self.runners:
                    # Calls a takeover re-attached for it are ours whether or not it runs here: their events
                    # wait until they are resumed (dialer/recovery.py), so they must be, now.
                    self.recovery.resume(campaign.id)

    async def _run_campaign(self, campaign: Campaign) -> None:
        if campaign.id in self.claimers:
            self.claimers[campaign.id].invalidate()    # rules or lists may have changed with the campaign
        async with self.db.acquire() as conn:        # its preset's legal figures bind its pacing
            preset = (await compliance_store.campaign_rules(conn, campaign.id)).preset
        limits = legal_limits(preset)
        if campaign.id in self.runners:
            if changed := tuned(self.runners[campaign.id].campaign, campaign):   # a supervisor's change: who, what
                who = await campaigns.last_changed_by(self.db, campaign.id)
                log.info("campaign %s tuned by %s: %s", campaign.name, who or "an unaudited change", changed)
            self.runners[campaign.id].limits = limits
            self.runners[campaign.id].update(campaign)
            return
        rows = await operators.for_campaign(self.db, campaign.id)
        working = await operators.with_open_session(self.db, [row.id for row in rows])
        stopped = await operators.stopped_with_engine(self.db, [row.id for row in rows],
                                                      since=self.clock.now() - timedelta(days=1))
        midnight = datetime.combine(self.clock.now().astimezone(ZoneInfo(campaign.timezone)).date(), time(),
                                    ZoneInfo(campaign.timezone))      # the day in the campaign's zone
        arriving = [row.id for row in rows if row.id not in self.floor.operators]
        day = await operators.day_figures(self.db, arriving, since=midnight)
        spent = await operators.day_seconds_by_state(self.db, arriving, since=midnight, until=self.clock.now())
        for row in rows:
            operator = self.floor.operators.get(row.id)
            if operator is None:
                operator = FloorOperator(row.id, row.name, row.extension, set(), row.priority, row.simulated,
                                         since=asyncio.get_running_loop().time(),    # occupancy: the day's too
                                         time_in={OperatorState(k): v for k, v in spent.get(row.id, {}).items()})
                operator.calls, operator.talk_s = day.get(row.id, (0, 0.0))     # the day so far, not 0
                self.floor.add(operator)
            self.floor.assign(operator, campaign.id)
            if operator.state is OperatorState.OFFLINE and not self.recovery.adopt_phone(operator):
                # People log in from their console; after a crash, those who were working are called back.
                if operator.simulated:
                    await self.phones.log_in(operator)
                elif operator.id in working or (
                        operator.id in stopped and (self.clock.now() - stopped[operator.id]).total_seconds()
                        <= self.config.restore_logins_s):
                    await self.phones.log_in(operator, why=RESTART)
                elif operator.id in stopped:
                    operator.logged_out_why = STOPPED_LONG_AGO.format(at=stopped[operator.id])
        self.estimators[campaign.id] = OnlineEstimators()
        chances = self.answer_chances[campaign.id] = AnswerChances()
        ledger = AbandonLedger(pacing_settings(campaign, limits=limits).window_hours * 3600)
        await ledger.seed(self.db, campaign_id=campaign.id, wall_now=self.clock.now(),
                          loop_now=asyncio.get_running_loop().time(), live=self.calls.values())
        runner = CampaignRunner(campaign, snapshot=self.snapshot, dial=self.dialing.dial, tick_s=self.config.tick_s,
                                can_dial=self.can_originate, ledger=ledger, limits=limits,
                                supervisor=self.supervisor, hours=find_preset(preset).rule if preset else None,
                                wall_clock=self.clock.now, chances=chances)
        self.runners[campaign.id] = runner
        self.recovery.resume(campaign.id)
        await self.groups.adopt(runner)     # its group's loop paces it, or its own

    async def pause_campaign(self, campaign_id: int) -> None:
        """No new calls for this campaign; its calls in progress finish normally."""
        runner = self.runners.pop(campaign_id, None)
        if runner is not None:
            await runner.stop()
            await self.groups.release(campaign_id)
        if self.ownership is not None:
            await self.ownership.release(campaign_id)

    async def stop(self, *, drain_s: float = 0.0, flush_s: float = 2.0) -> None:
        """Stop dialing; give live calls up to ``drain_s`` to end; hand the rest to recovery; give back
        claims never dialed; flush the recorder for at most ``flush_s``.

        A call handed to recovery stays on the PBX, its attempt open and its operator's phone in the
        conference: the next start (or an engine taking over) re-attaches both (``dialer/recovery.py``).
        Hanging it up would cut a customer off mid-conversation; waiting for it would hold a Ctrl-C for
        minutes."""
        for runner in self.runners.values():
            await runner.stop()
        await self.groups.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_s
        while any(c.alive for c in self.calls.values()) and loop.time() < deadline:
            await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
        await self._tasks.cancel_all()     # heartbeat, Originates not yet sent, reconciles
        for call in [c for c in self.calls.values() if not c.sent]:
            self.dialing.not_dialed(call)  # claimed, never dialed: the lead goes back now
        in_flight = [c for c in self.calls.values() if c.alive]
        if self.ownership is not None:     # a campaign with calls left is not released: a successor recovers them
            await self.ownership.close(keep={c.campaign_id for c in in_flight})
        self.operator_work.stop()
        # From here to the log-outs nothing awaits: an answer handled meanwhile would go to an operator
        # about to be logged out (on_call is read now, after the last await, so it holds that one too).
        on_call = {c.operator_id for c in self.calls.values() if c.alive and c.operator_id is not None}
        logged_in = [o for o in self.floor.operators.values()
                     if o.state is not OperatorState.OFFLINE and o.id not in on_call]
        leaving = [o for o in logged_in if not o.simulated]
        # A login comes back ready: someone paused (at lunch) is not logged in behind their back, told why.
        paused = {o.id for o in leaving if o.state is OperatorState.PAUSED}
        for operator in leaving:           # the console logged in again drops the last session's card
            if operator.state is OperatorState.WRAP_UP and operator.attempt_id is not None:
                self.operator_work.code_uncoded(operator, operator.attempt_id, "was cut by the engine's stop")
        phones = [self.phones.take_off(o, leave_call=False) for o in logged_in]
        await asyncio.gather(*(self.phones.hang_up_phone(phone) for phone in phones))
        for operator in leaving:           # their consoles say why; the next start logs them in again
            operator.logged_out_why = STOPPED_PAUSED if operator.id in paused else STOPPED
        if ids := [o.id for o in leaving if o.id not in paused]:
            at = self.clock.now()
            self.recorder.put("logged out by the stop", lambda conn: operators.mark_engine_stop(conn, ids, at))
            log.info("%d operator(s) logged out; a start within %.0f min logs them in again", len(ids),
                     self.config.restore_logins_s / 60)
        if in_flight:
            log.warning("stopping with %d call(s) in flight: they stay on the PBX, and the next start "
                        "re-attaches them", len(in_flight))
        await self.recorder.close(timeout_s=flush_s)

    # ---- pacing ----------------------------------------------------------------------------------

    def follow(self, call: Call) -> None:
        """Follow a new (or re-attached) call by its channel id; its transitions keep the floor's figures."""
        self.calls[call.channel_id] = call
        self.floor.follow(call)

    def snapshot(self, campaign_id: int, with_estimates: bool = True) -> Snapshot:
        """The floor as the policy sees it, read from the campaign's live section (``dialer/sections.py``),
        never by walking the calls and operators. Estimates cost a little; only predictive reads them."""
        now = asyncio.get_running_loop().time()
        section = self.floor.section(campaign_id)
        busy = section.busy.elapsed(now)
        chances = self.answer_chances.get(campaign_id) if with_estimates else None
        snapshot = Snapshot(free_operators=len(section.free), busy_elapsed_s=busy,
                            ringing_elapsed_s=section.ringing_elapsed(now), waiting_answered=section.waiting,
                            estimates=self._estimates(campaign_id, busy, now) if with_estimates else Estimates(),
                            ringing_answer_p=section.ringing_chances() if chances else (),
                            next_answer_p=chances.next_calls() if chances else ())
        if self.floor_check is not None:
            self.floor_check.snapshot(campaign_id, snapshot, now)
        return snapshot

    def _estimates(self, campaign_id: int, busy: tuple[float, ...], now: float) -> Estimates:
        """The campaign's estimates, computed again about every ``ESTIMATES_EVERY_S`` of loop time. They
        move slowly (the controller integrates over minutes; the simulated dialer refreshes them every
        15 s), while computing them walks every busy operator's handle time so far (the calls still with
        an operator are censored handle times, ``pacing.estimators.HandleTimes``): on a large floor that
        costs as much as the decision itself. So a decision computes them only when the campaign has none;
        one that finds them a second old reads them as they are and has them computed in a callback of their
        own right after it, off the path from an event to its calls."""
        estimators = self.estimators[campaign_id]
        kept = self._kept_estimates.get(campaign_id)
        if kept is None or kept[0] is not estimators:
            return self._compute_estimates(campaign_id, busy, now)
        if now - kept[1] >= ESTIMATES_EVERY_S and campaign_id not in self._estimating:
            self._estimating.add(campaign_id)
            asyncio.get_running_loop().call_soon(self._refresh_estimates, campaign_id)
        return kept[2]

    def _compute_estimates(self, campaign_id: int, busy: tuple[float, ...], now: float) -> Estimates:
        estimates = self.estimators[campaign_id].estimates(busy)
        self._kept_estimates[campaign_id] = (self.estimators[campaign_id], now, estimates)
        return estimates

    def _refresh_estimates(self, campaign_id: int) -> None:
        self._estimating.discard(campaign_id)
        if campaign_id not in self.estimators:          # the campaign stopped meanwhile
            return
        now = asyncio.get_running_loop().time()
        try:
            self._compute_estimates(campaign_id, self.floor.section(campaign_id).busy.elapsed(now), now)
        except Exception:    # the kept ones serve on, and the next decision asks again
            log.exception("campaign %d: estimates not computed again", campaign_id)

    def can_originate(self) -> bool:
        """The PBX can take a call now: linked, and (several servers) a channel free somewhere."""
        return self.pbx.connected and ((room := room_of(self.pbx)) is None or room > 0)

    def _refused(self, campaign_id: int, reason: str) -> None:
        """The PBX refuses every call of the campaign: stop dialing now, and pause it in the store with the
        reason (audited), so a manager sees why and starts it again once the route is fixed."""
        runner = self.runners.get(campaign_id)
        if runner is None:
            return
        name, actor = runner.campaign.name, f"engine:{self.config.name}"

        async def pause() -> None:
            await self.pause_campaign(campaign_id)
            await campaigns.set_state(self.db, name, "paused", actor=actor, now=self.clock.now(), reason=reason)

        self._tasks.spawn(pause(), name=f"pause-{name}")

    def opt_out(self, phone: str, *, source: str) -> None:
        """The callee asked never to be called again: company-wide DNC. Queued ahead of the call's own
        settle, so it is in the store before this lead (or this number in any list) can be claimed again."""
        now = self.clock.now()
        self.recorder.put(f"opt-out {phone}", partial(compliance_store.add_dnc, phones=[phone], scope="company",
                                                      source=source, now=now))


    # ---- what people do (control plane, consoles) ------------------------------------------------

    async def manual_dial(self, operator: FloorOperator, campaign_id: int, phone: str) -> str | None:
        """Click-to-call (``dialer/dialing.py``); None when sent, else why not."""
        return await self.dialing.manual_dial(operator, campaign_id, phone)

    async def end_call(self, operator: FloorOperator, *, rate: bool) -> str | None:
        """The operator ends the conversation (``dialer/operator_work.py``); None when done, else why not."""
        return await self.operator_work.end_call(operator, rate=rate)

    def wrap_up_done(self, operator: FloorOperator) -> None:
        """The operator finished the after-call work: ready again."""
        self.operator_work.wrap_up_done(operator)

    def leave_call(self, operator: FloorOperator) -> None:
        """The operator leaves their call (logged out, or their phone gone for good)."""
        self.operator_work.leave_call(operator)

    # ---- the surface recovery, groups and ownership use (dialer/surface.py) ----------------------

    def handle_event(self, event: PbxEvent) -> None:
        self.events.on_event(event)

    def call_answered(self, call: Call, now: float) -> None:
        self.events.answered(call, now)

    def call_changed(self, call: Call) -> None:
        self.events.changed(call)

    def call_ended(self, call: Call) -> None:
        self.events.ended(call)

    def release_operator(self, call: Call, operator: FloorOperator, now: float) -> None:
        self.operator_work.release(call, operator, now)

    def count(self, campaign_id: int, what: str) -> None:
        self.counts.count(campaign_id, what)

    def count_call(self, call: Call, what: str) -> None:
        self.counts.count_call(call, what)

    def campaign_totals(self, campaign_id: int) -> dict[str, int]:
        return self.counts.campaign_totals(campaign_id)

    def wake(self, campaign_id: int) -> None:
        if runner := self.runners.get(campaign_id):
            runner.wake()

    async def _beat(self) -> None:
        await beat_forever(self.recorder, self.clock, self.config)
