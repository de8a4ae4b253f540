"""The engine: one asyncio process that runs campaigns against one PBX.

It composes the rooms: ``lists`` (claims, attempt rows), ``pacing`` (how many calls), ``ami`` (the PBX
port) and ``compliance`` (through the claim). It owns the tasks: one pacing loop per running
campaign, the write-behind recorder, the heartbeat. PBX events are handled synchronously as they
arrive, so an answered call is handed to an operator within the same loop iteration.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import asyncpg

from ami.pbx import (
    CallAnswered,
    CallRated,
    ChannelHungUp,
    ConferenceJoined,
    DialEnded,
    LinkDown,
    LinkUp,
    NoOperatorInTime,
    OptedOut,
    OriginateRequest,
    OriginateResult,
    Pbx,
    PbxError,
    PbxEvent,
    PbxLinkLost,
    PbxNotConnected,
)
from ami.pool import PbxPool
from compliance import store as compliance_store
from compliance.limits import legal_limits
from dialer.call import Call, CallState
from dialer.claims import Claimer, NothingToDial
from dialer.clock import Clock
from dialer.config import EngineConfig
from dialer.floor import STORED_STATE, Floor, FloorOperator, OperatorState
from dialer.groups.membership import CampaignGroups
from dialer.handoff import HandOff
from dialer.ledger import AbandonLedger
from dialer.phones import RESTART, OperatorPhones
from dialer.recorder import Recorder
from dialer.recovery import Recovery
from dialer.refusals import RefusedCalls
from dialer.runner import CampaignRunner, pacing_settings
from dialer.tasks import Supervisor
from lists import attempts, campaigns, leads, operators
from lists.attempts import AttemptUpdate, NewAttempt
from lists.campaigns import Campaign
from lists.dispositions import UNKNOWN
from pacing.estimators import OnlineEstimators
from pacing.snapshot import Estimates, Snapshot

if TYPE_CHECKING:
    from dialer.ownership.campaigns import CampaignOwnership

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    originated: int = 0
    answered: int = 0
    connected: int = 0
    abandoned: int = 0
    not_dialed: int = 0


class Engine:
    def __init__(self, pool: asyncpg.Pool, pbx: Pbx, clock: Clock, config: EngineConfig | None = None) -> None:
        self.pool = pool
        self.pbx = pbx
        self.clock = clock
        self.config = config or EngineConfig()
        self.floor = Floor()
        self.calls: dict[str, Call] = {}
        self.runners: dict[int, CampaignRunner] = {}
        self.estimators: dict[int, OnlineEstimators] = {}
        self.claimers: dict[int, Claimer] = {}
        self.supervisor = Supervisor()     # every background task: logged and restarted, or the engine stops
        self.recorder = Recorder(pool, linger_s=self.config.record_linger_s, tasks=self.supervisor.tasks(),
                                 engine=self.config.name)
        self.handoff = HandOff(pbx, self.floor, self.config, self._call_changed, tasks=self.supervisor.tasks())
        self.stats = EngineStats()
        self.campaign_stats: dict[int, EngineStats] = {}
        self._tasks = self.supervisor.tasks()
        # how operators come onto the floor, and what a lost phone does to them
        self.phones = OperatorPhones(pbx, self.floor, self.config, freed=self._operator_free,
                                     leave_call=self.leave_call, tasks=self.supervisor.tasks())
        self._wrap_timers: dict[int, asyncio.TimerHandle] = {}
        self.wrap_up_listeners: list[Callable[[FloorOperator], None]] = []
        self.ownership: CampaignOwnership | None = None   # several engines on one store (dialer/ownership/campaigns.py)
        self._starting = asyncio.Lock()   # the control plane and the ownership beat may both start a campaign
        self.recovery = Recovery(self)
        self.refusals = RefusedCalls(self._refused)   # a route that fails every call pauses its campaign
        # campaign groups: one pacing loop per group; it hears operator changes before the hand-off does
        self.groups = CampaignGroups(self)
        pbx.subscribe(self._on_event)
        self.floor.subscribe(self._operator_changed)

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.recorder.start()
        await self.recovery.recover()      # calls a previous run left on the PBX: followed, not redialed
        for campaign in await campaigns.running(self.pool):
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
        async with self.pool.acquire() as conn:        # its preset's legal figures bind its pacing
            limits = legal_limits((await compliance_store.campaign_rules(conn, campaign.id)).preset)
        if campaign.id in self.runners:
            self.runners[campaign.id].limits = limits
            self.runners[campaign.id].update(campaign)
            return
        rows = await operators.for_campaign(self.pool, campaign.id)
        working = await operators.with_open_session(self.pool, [row.id for row in rows])
        for row in rows:
            operator = self.floor.operators.get(row.id)
            if operator is None:
                operator = FloorOperator(row.id, row.name, row.extension, set(), row.priority, row.simulated,
                                         since=asyncio.get_running_loop().time())
                self.floor.add(operator)
            operator.campaigns.add(campaign.id)
            if operator.state is OperatorState.OFFLINE and not self.recovery.adopt_phone(operator):
                # People log in from their console; after a crash, those who were working are called back.
                if operator.simulated:
                    await self.phones.log_in(operator)
                elif operator.id in working:
                    await self.phones.log_in(operator, why=RESTART)
        self.estimators[campaign.id] = OnlineEstimators()
        ledger = AbandonLedger(pacing_settings(campaign, limits=limits).window_hours * 3600)
        await ledger.seed(self.pool, campaign_id=campaign.id, wall_now=self.clock.now(),
                          loop_now=asyncio.get_running_loop().time())
        runner = CampaignRunner(campaign, snapshot=self.snapshot, dial=self._dial, tick_s=self.config.tick_s,
                                can_dial=self.can_originate, ledger=ledger, limits=limits,
                                supervisor=self.supervisor)
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
            self._not_dialed(call)         # claimed, never dialed: the lead goes back now
        in_flight = [c for c in self.calls.values() if c.alive]
        if self.ownership is not None:     # a campaign with calls left is not released: a successor recovers them
            await self.ownership.close(keep={c.campaign_id for c in in_flight})
        for handle in self._wrap_timers.values():
            handle.cancel()
        on_call = {c.operator_id for c in in_flight if c.operator_id is not None}
        await asyncio.gather(*(self.phones.log_out(o, leave_call=False) for o in list(self.floor.operators.values())
                               if o.state is not OperatorState.OFFLINE and o.id not in on_call))
        if in_flight:
            log.warning("stopping with %d call(s) in flight: they stay on the PBX, and the next start "
                        "re-attaches them", len(in_flight))
        await self.recorder.close(timeout_s=flush_s)

    async def manual_dial(self, operator: FloorOperator, campaign_id: int, phone: str) -> str | None:
        """Click-to-call: the operator's own call, with the campaign's caller ID, recorded like any other.
        The customer is originated straight into the operator's conference."""
        if operator.state is not OperatorState.READY and operator.state is not OperatorState.PAUSED:
            return f"cannot dial while {operator.state.value}"
        if not operator.phone_up:
            return "your phone is not in your conference; log in again"
        if campaign_id not in operator.campaigns:
            return "not assigned to that campaign"
        runner = self.runners.get(campaign_id)
        campaign = runner.campaign if runner else await campaigns.get_by_id(self.pool, campaign_id)
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            lead_id = await leads.claim_manual(conn, campaign_id=campaign_id, phone=phone, engine=self.config.name,
                                               now=now, lease_s=self.config.lease_s)
            if lead_id is None:
                return "that number is on a do-not-call list or already being dialed"
            [attempt_id] = await attempts.open_attempts(
                conn, [NewAttempt(lead_id, campaign_id, phone, campaign.caller_id)], engine=self.config.name,
                pbx=self.config.pbx_name, now=now)
        loop_now = asyncio.get_running_loop().time()
        call = Call(attempt_id=attempt_id, channel_id=f"attempt-{attempt_id}", campaign_id=campaign_id,
                    lead_id=lead_id, phone=phone, originated_at=loop_now, preassigned=operator.id)
        self.calls[call.channel_id] = call
        operator.attempt_id, operator.lead_id = attempt_id, lead_id
        operator.talk_started = loop_now
        self.floor.set_state(operator, OperatorState.RESERVED, loop_now)
        request = OriginateRequest(
            channel=campaign.channel_for(phone), channel_id=call.channel_id, context=self.config.handoff_context,
            exten=operator.extension, timeout_ms=campaign.ring_timeout_s * 1000, caller_id=campaign.caller_id,
            variables={"ATTEMPT_ID": str(attempt_id), "LEAD_ID": str(lead_id)})
        call.expect_legs(request.channel)
        call.sent = True
        try:
            await self.pbx.originate(request)
        except PbxError as exc:
            if call.refused(asyncio.get_running_loop().time()):
                self._ended(call)
            return f"the PBX refused the call: {exc.message}"
        self._record(AttemptUpdate(attempt_id, state="ringing" if call.state is CallState.ORIGINATING else None,
                                   originated_at=self.clock.now(), operator_id=operator.id))
        return None

    # ---- pacing ----------------------------------------------------------------------------------

    def snapshot(self, campaign_id: int, with_estimates: bool = True) -> Snapshot:
        """The floor as the policy sees it. Estimates cost a little; only predictive reads them."""
        now = asyncio.get_running_loop().time()
        ringing = tuple(now - c.originated_at for c in self.calls.values()
                        if c.campaign_id == campaign_id and c.state is CallState.ORIGINATING)
        waiting = sum(1 for c in self.handoff.waiting if c.campaign_id == campaign_id)
        busy = tuple(now - (o.talk_started if o.talk_started is not None else o.since)
                     for o in self.floor.busy_for(campaign_id))
        return Snapshot(free_operators=len(self.floor.free_for(campaign_id)), busy_elapsed_s=busy,
                        ringing_elapsed_s=ringing, waiting_answered=waiting,
                        # the calls still with an operator are censored handle times (pacing.estimators.HandleTimes)
                        estimates=self.estimators[campaign_id].estimates(busy) if with_estimates else Estimates())

    def can_originate(self) -> bool:
        """The PBX can take a call now: linked, and (several servers) a channel free somewhere."""
        return self.pbx.connected and (not isinstance(self.pbx, PbxPool) or self.pbx.room() > 0)

    async def _dial(self, campaign: Campaign, wanted: int) -> int:
        if isinstance(self.pbx, PbxPool):     # never claim leads the servers' channel limits cannot take
            wanted = min(wanted, self.pbx.room())
        if wanted > self.config.max_calls_per_round:
            # Thousands of Originates in one loop pass would hold up the hand-off of calls answered
            # meanwhile (benchmarks/engine.py): the rest goes in the next rounds, right after.
            wanted = self.config.max_calls_per_round
            self._wake(campaign.id)
        claimer = self.claimers.get(campaign.id)
        if claimer is None:
            claimer = self.claimers[campaign.id] = Claimer(campaign.id)
        ownership = self.ownership
        fence = None if ownership is None else ownership.claim_fence(campaign.id)
        if ownership is not None and fence is None:
            return 0            # not (or no longer) this engine's campaign
        try:
            async with self.pool.acquire() as conn:
                dials = await claimer.claim(conn, campaign, wanted=wanted, now=self.clock.now(),
                                            engine=self.config.name, pbx=self.config.pbx_name,
                                            lease_s=self.config.lease_s, fence=fence,
                                            free_operators=[o.id for o in self.floor.free_for(campaign.id)])
        except NothingToDial:
            return 0
        loop_now = asyncio.get_running_loop().time()
        for dial in dials:
            lead = dial.lead
            # The owner of a personal callback first; else whoever last talked to this person.
            call = Call(attempt_id=dial.attempt_id, channel_id=f"attempt-{dial.attempt_id}", campaign_id=campaign.id,
                        lead_id=lead.id, phone=lead.phone, originated_at=loop_now,
                        owner_operator=lead.owner_operator or lead.last_operator, caller_id=dial.caller_id)
            self.calls[call.channel_id] = call
            self._tasks.spawn(self._originate(campaign, call), name=call.channel_id)
        return len(dials)

    async def _originate(self, campaign: Campaign, call: Call) -> None:
        request = OriginateRequest(
            channel=campaign.channel_for(call.phone), channel_id=call.channel_id,
            context=self.config.answered_context, exten="s", timeout_ms=campaign.ring_timeout_s * 1000,
            caller_id=call.caller_id or campaign.caller_id,
            variables={"ATTEMPT_ID": str(call.attempt_id), "LEAD_ID": str(call.lead_id), "DIALER_AMD": "0",
                       # what the safe-harbor message says: who called (a prompt per campaign) and the number
                       "DIALER_SELLER_PROMPT": f"dialer/seller-{campaign.id}",
                       "DIALER_CALLBACK_NUMBER": campaign.caller_id.lstrip("+"),
                       # the dialplan's own safe harbor if no Redirect comes in time (see dialer/recovery.py)
                       "DIALER_SAFE_HARBOR_S": f"{campaign.safe_harbor_s:g}",
                       # prompts and digits from sounds/<language>/ (dialer/seller_prompt.py); else the endpoint's
                       **({"CHANNEL(language)": campaign.language} if campaign.language else {})},
        )
        if not self.pbx.connected:
            self._not_dialed(call)
            return
        call.expect_legs(request.channel)
        call.sent = True
        try:
            await self.pbx.originate(request)
        except PbxLinkLost:
            # Sent, but was it carried out? Never resend (a second call to the same person): the
            # reconciliation after re-login finds the channel or ends the attempt.
            log.warning("attempt %s: link lost while originating; will reconcile", call.attempt_id)
            return
        except PbxNotConnected:     # not sent, or refused by a stopping Asterisk (PbxShuttingDown): never dialed
            self._not_dialed(call)
            return
        except PbxError as exc:
            log.warning("attempt %s: Originate refused: %s", call.attempt_id, exc.message)
            if call.refused(asyncio.get_running_loop().time()):
                self._ended(call)
            return
        self._count(call.campaign_id, "originated")
        # The outcome may have come before the Response (same TCP read): never write over an ended state.
        state = "ringing" if call.state is CallState.ORIGINATING else None
        server = self.pbx.server_of(call.channel_id) if isinstance(self.pbx, PbxPool) else None
        self._record(AttemptUpdate(call.attempt_id, state=state, originated_at=self.clock.now(), pbx=server))

    def _not_dialed(self, call: Call) -> None:
        """Claimed but never sent: the lead goes back as it was, the attempt row says why."""
        call.not_dialed(asyncio.get_running_loop().time())
        self.calls.pop(call.channel_id, None)
        self._count(call.campaign_id, "not_dialed")
        now = self.clock.now()
        self._record(AttemptUpdate(call.attempt_id, state="ended", ended_at=now, outcome="not_dialed"))
        engine = self.config.name
        self.recorder.put(f"release lead {call.lead_id}",
                          lambda conn: leads.release(conn, lead_ids=[call.lead_id], engine=engine))

    # ---- PBX events ------------------------------------------------------------------------------

    def _on_event(self, event: PbxEvent) -> None:
        if self.recovery.held(event):
            return
        now = asyncio.get_running_loop().time()
        match event:
            case DialEnded(channel_id=channel_id, dial_status=status):
                if call := self.calls.get(channel_id):
                    call.dial_ended(status)
            case OriginateResult(channel_id=channel_id, success=success, reason=reason):
                if call := self.calls.get(channel_id):
                    if success:
                        call.heard_response(reason)
                        self._answered(call, now)
                    elif call.originate_failed(now, reason):
                        self._ended(call)
                elif not success:
                    self.phones.not_answered(channel_id, reason, now)
            case CallAnswered(channel_id=channel_id):
                if call := self.calls.get(channel_id):
                    self._answered(call, now)
            case ChannelHungUp(channel_id=channel_id, cause=cause):
                self._hung_up(channel_id, cause, now)
            case ConferenceJoined(conference=conference, channel_id=channel_id):
                if call := self.calls.get(channel_id):
                    if call.state is CallState.ORIGINATING:   # a manual call can join before its OriginateResponse
                        self._answered(call, now)
                    self.handoff.joined(call, now)
                else:
                    self.phones.joined(channel_id, conference, now)
            case CallRated(channel_id=channel_id, score=score):
                if call := self.calls.get(channel_id):
                    self._record(AttemptUpdate(call.attempt_id, rating=score))
            case NoOperatorInTime(channel_id=channel_id):
                if call := self.calls.get(channel_id):
                    self.recovery.message_played(call)
            case OptedOut(channel_id=channel_id):
                if call := self.calls.get(channel_id):
                    self.opt_out(call.phone, source="opt-out:keypress")
            case LinkDown(reason=reason, server=server):
                log.warning("AMI link down (%s): no new calls until it is back", reason)
                self.phones.link_down(server)
            case LinkUp(server=server):
                sent = [channel_id for channel_id, call in self.calls.items() if call.sent]
                self._tasks.spawn(self.recovery.reconcile(sent), name="reconcile")
                self._tasks.spawn(self.phones.relinked(server), name="phones-relinked")

    def _refused(self, campaign_id: int, reason: str) -> None:
        """The PBX refuses every call of the campaign: stop dialing now, and pause it in the store with the
        reason (audited), so a manager sees why and starts it again once the route is fixed."""
        runner = self.runners.get(campaign_id)
        if runner is None:
            return
        name, actor = runner.campaign.name, f"engine:{self.config.name}"

        async def pause() -> None:
            await self.pause_campaign(campaign_id)
            await campaigns.set_state(self.pool, name, "paused", actor=actor, now=self.clock.now(), reason=reason)

        self._tasks.spawn(pause(), name=f"pause-{name}")

    def opt_out(self, phone: str, *, source: str) -> None:
        """The callee asked never to be called again: company-wide DNC. Queued ahead of the call's own
        settle, so it is in the store before this lead (or this number in any list) can be claimed again."""
        now = self.clock.now()
        self.recorder.put(f"opt-out {phone}", partial(compliance_store.add_dnc, phones=[phone], scope="company",
                                                      source=source, now=now))

    def _answered(self, call: Call, now: float) -> None:
        if not call.answer(now):
            return
        if call.preassigned is not None:       # manual call: already on its way into the operator's conference
            call.hand_off(call.preassigned)
            self._record(AttemptUpdate(call.attempt_id, state="answered", answered_at=self.clock.now(),
                                       recording=f"{call.attempt_id}.wav"))
            return
        self._count(call.campaign_id, "answered")
        self.estimators[call.campaign_id].observe_dial(now, True, now - call.originated_at)
        self._record(AttemptUpdate(call.attempt_id, state="waiting", answered_at=self.clock.now(),
                                   recording=f"{call.attempt_id}.wav"))
        runner = self.runners.get(call.campaign_id)
        safe_harbor_s = (min(runner.campaign.safe_harbor_s, runner.limits.max_wait_s) if runner
                         else legal_limits(None).max_wait_s)
        routing = str(runner.campaign.pacing.get("routing", "longest_idle")) if runner else "longest_idle"
        self.handoff.answered(call, safe_harbor_s, routing)
        self._wake(call.campaign_id)

    def _hung_up(self, channel_id: str, cause: int, now: float) -> None:
        call = self.calls.get(channel_id) or self.calls.get(channel_id.removesuffix("-2"))
        leg = call.leg_of(channel_id) if call is not None else None
        if call is None or leg is None:
            self.phones.hung_up(channel_id, now)
        elif call.leg_hung_up(now, leg, cause):
            self._ended(call)

    def _call_changed(self, call: Call) -> None:
        if call.state is CallState.CONNECTED:
            self._count(call.campaign_id, "connected")
            self._record(AttemptUpdate(call.attempt_id, state="connected", connected_at=self.clock.now(),
                                       operator_id=call.operator_id))
        elif call.state is CallState.SAFE_HARBOR:
            self._count(call.campaign_id, "abandoned")
            self._record(AttemptUpdate(call.attempt_id, state="safe_harbor", abandoned=True))

    def _ended(self, call: Call) -> None:
        now = asyncio.get_running_loop().time()
        self.handoff.ended(call)
        self.calls.pop(call.channel_id, None)
        runner = self.runners.get(call.campaign_id)
        if call.answered_at is None:
            self.estimators[call.campaign_id].observe_dial(now, False, now - call.originated_at)
        elif runner is not None:
            runner.ledger.add(now, call.abandoned)
        if runner is not None:
            self.refusals.ended(call, runner.campaign.channel_template)
        operator = self.floor.operators.get(call.operator_id or -1)
        if operator is not None and operator.attempt_id == call.attempt_id and not call.operator_released:
            if call.connected_at is not None:
                self._release_operator(call, operator, now)
            else:
                operator.attempt_id = operator.lead_id = operator.talk_started = None
                self.floor.set_state(operator, OperatorState.READY, now)
        self._record(AttemptUpdate(
            call.attempt_id, state="ended", ended_at=self.clock.now(), outcome=call.outcome,
            originate_reason=call.originate_reason, dial_status=call.dial_status,
            hangup_cause=call.hangup_cause, operator_id=call.operator_id, abandoned=call.abandoned))
        engine, at, outcome, lead_id = self.config.name, self.clock.now(), call.outcome or "failed", call.lead_id
        cause = call.hangup_cause   # says whether the number itself is wrong (then its lead moves on from it)
        self.recorder.put(f"settle lead {lead_id}", lambda conn: leads.settle(
            conn, lead_id=lead_id, engine=engine, outcome=outcome, now=at, cause=cause))
        self._wake(call.campaign_id)

    # ---- operators -------------------------------------------------------------------------------

    def _release_operator(self, call: Call, operator: FloorOperator, now: float) -> None:
        """The conversation is over for the operator: count it and start the wrap-up."""
        call.operator_released = True
        operator.calls += 1
        operator.last_talk_s = now - (call.connected_at or now)
        operator.talk_s += operator.last_talk_s
        self.floor.set_state(operator, OperatorState.WRAP_UP, now)

    async def end_call(self, operator: FloorOperator, *, rate: bool) -> str | None:
        """The operator ends the conversation: the customer is hung up, or sent to the rating menu."""
        call = self.calls.get(f"attempt-{operator.attempt_id}")
        if call is None or call.state is not CallState.CONNECTED:
            return "no connected call to end"
        try:
            if rate:
                await self.pbx.redirect(call.channel_id, self.config.rating_context, "s")
            else:
                await self.pbx.hangup(call.channel_id)
        except PbxError as exc:
            return f"the PBX refused: {exc.message}"
        if not call.operator_released:
            self._release_operator(call, operator, asyncio.get_running_loop().time())
        return None

    def _operator_changed(self, operator: FloorOperator, previous: OperatorState, now: float) -> None:
        state = STORED_STATE.get(operator.state, operator.state.value)
        at, operator_id = self.clock.now(), operator.id
        self.recorder.put(f"operator {operator.name} {state}", lambda conn: operators.record_state(
            conn, operator_id=operator_id, state=state, now=at))
        if operator.state is OperatorState.WRAP_UP:
            handle = asyncio.get_running_loop().call_later(self._wrap_up_max_s(operator), self.wrap_up_done, operator)
            self._wrap_timers[operator.id] = handle
            for listener in self.wrap_up_listeners:
                listener(operator)
        if operator.state is OperatorState.READY:
            self._operator_free(operator)

    def _operator_free(self, operator: FloorOperator) -> None:
        """A waiting call for the operator now free, else their campaigns dial for them."""
        if not self.handoff.operator_free(operator):
            for campaign_id in operator.campaigns:
                self._wake(campaign_id)

    def leave_call(self, operator: FloorOperator) -> None:
        """The operator leaves their call (logged out, or their phone is gone for good): the customer is
        hung up rather than left alone in the conference. A connected call counts as the operator's and
        ends ``connected`` when its Hangup comes, coded ``unknown`` until the console sends the real code."""
        call = self.calls.get(f"attempt-{operator.attempt_id}")
        if call is None or not call.alive or call.operator_released:
            return
        call.operator_released = True
        if call.connected_at is not None:
            now = asyncio.get_running_loop().time()
            operator.calls += 1
            operator.last_talk_s = now - call.connected_at
            operator.talk_s += operator.last_talk_s
            # No wrap-up follows: the system's code until the operator (console) or a manager sets the real one.
            self._record(AttemptUpdate(call.attempt_id, disposition=UNKNOWN))
        self._tasks.spawn(self._hang_up_customer(call), name=f"hang up {call.channel_id}")

    async def _hang_up_customer(self, call: Call) -> None:
        try:
            await self.pbx.hangup(call.channel_id)
        except PbxError as exc:
            log.info("attempt %s: Hangup refused: %s", call.attempt_id, exc.message)

    def _wrap_up_max_s(self, operator: FloorOperator) -> float:
        """The shortest wrap-up limit among the operator's running campaigns (``wrap_up_max_s``)."""
        limits = [float(r.campaign.pacing["wrap_up_max_s"]) for c in operator.campaigns
                  if (r := self.runners.get(c)) is not None and "wrap_up_max_s" in r.campaign.pacing]
        return min(limits, default=self.config.wrap_up_max_s)

    def wrap_up_done(self, operator: FloorOperator) -> None:
        """The operator finished the after-call work (console Ready, a simulated operator, or the timer)."""
        if operator.state is not OperatorState.WRAP_UP:
            return
        handle = self._wrap_timers.pop(operator.id, None)
        if handle is not None:
            handle.cancel()
        now = asyncio.get_running_loop().time()
        for campaign_id in operator.campaigns:
            if estimator := self.estimators.get(campaign_id):
                estimator.observe_handle(now, operator.last_talk_s, now - operator.since)
        operator.attempt_id = operator.lead_id = operator.talk_started = None
        self.floor.set_state(operator, OperatorState.READY, now)

    # ---- figures ---------------------------------------------------------------------------------

    def campaign_totals(self, campaign_id: int) -> dict[str, int]:
        return asdict(self.campaign_stats.setdefault(campaign_id, EngineStats()))

    def _count(self, campaign_id: int, what: str) -> None:
        for stats in (self.stats, self.campaign_stats.setdefault(campaign_id, EngineStats())):
            setattr(stats, what, getattr(stats, what) + 1)

    # ---- helpers ---------------------------------------------------------------------------------

    def _record(self, update: AttemptUpdate) -> None:
        self.recorder.put_attempt(update)

    def _wake(self, campaign_id: int) -> None:
        if runner := self.runners.get(campaign_id):
            runner.wake()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            now = self.clock.now()
            self.recorder.put("heartbeat", partial(_heartbeat, name=self.config.name, now=now,
                                                   lease_s=self.config.lease_s))


async def _heartbeat(conn: asyncpg.Connection, *, name: str, now: datetime, lease_s: float) -> None:
    await conn.execute(
        """INSERT INTO engine (name, started_at, heartbeat_at) VALUES ($1, $2, $2)
           ON CONFLICT (name) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at""", name, now)
    await leads.extend_leases(conn, engine=name, now=now, lease_s=lease_s)
    expired = await leads.expire_leases(conn, now=now)   # claims of engines that stopped heart-beating
    if expired:
        log.warning("%d lead(s) claimed by a silent engine went back to the list", expired)
