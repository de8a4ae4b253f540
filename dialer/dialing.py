"""Dialing: a pacing round's leads claimed and originated, a click-to-call, a claim never sent given back.

A round claims at most what the servers' channel limits can take and ``max_calls_per_round``, fenced by
ownership when several engines share the store (``dialer/ownership/campaigns.py``). Each claimed lead
becomes a ``Call`` followed by its channel id (``dialer.call.channel_id_of``) and an Originate sent in its
own task, so a slow PBX never holds up the loop that hands answered calls to operators.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ami.cluster import room_of, server_of
from ami.pbx import OriginateRequest, PbxError, PbxLinkLost, PbxNotConnected
from dialer.answer_chances import features_of
from dialer.call import Call, CallState, channel_id_of
from dialer.claims import Claimer, Fence, NothingToDial
from dialer.floor import FloorOperator, OperatorState
from dialer.gate import DialedByHand
from dialer.refused_in_state import refused_in_state
from dialer.surface import EngineSurface
from dialer.tasks import BackgroundTasks
from lists import attempts, campaigns, leads
from lists.attempts import AttemptUpdate, NewAttempt
from lists.campaigns import Campaign
from lists.errors import PhoneError
from lists.phones import normalize

log = logging.getLogger(__name__)

# A round's Originates start this many per loop pass (each task's first step builds and writes its action).
ORIGINATE_SLICE = 16


class CampaignOwnership(Protocol):
    """Which campaigns this engine may run when several engines share one store; one implementation,
    ``dialer.ownership.campaigns.CampaignOwnership``, attached with ``Engine.attach_ownership``."""

    takeovers: int      # campaigns taken from an engine that did not release them (metrics, views)
    losses: int         # campaigns lost without releasing them

    @property
    def owned(self) -> list[int]: ...

    async def acquire(self, campaign_id: int) -> bool: ...

    async def release(self, campaign_id: int) -> None: ...

    async def close(self, keep: set[int] | frozenset[int] = frozenset()) -> None: ...

    def claim_fence(self, campaign_id: int) -> Fence | None: ...


class Dialing:
    def __init__(self, engine: EngineSurface, tasks: BackgroundTasks) -> None:
        self._engine = engine
        self._tasks = tasks
        self.claimers: dict[int, Claimer] = {}
        self.ownership: CampaignOwnership | None = None

    async def dial(self, campaign: Campaign, wanted: int) -> int:
        """One pacing round: claim up to ``wanted`` leads and originate them; how many were claimed."""
        engine, config = self._engine, self._engine.config
        room = room_of(engine.pbx)
        if room is not None:      # never claim leads the servers' channel limits cannot take
            wanted = min(wanted, room)
        if wanted > config.max_calls_per_round:
            # Thousands of Originates in one loop pass would hold up the hand-off of calls answered
            # meanwhile (benchmarks/engine.py): the rest goes in the next rounds, right after.
            wanted = config.max_calls_per_round
            engine.wake(campaign.id)
        claimer = self._claimer(campaign.id)
        ownership = self.ownership
        fence = None if ownership is None else ownership.claim_fence(campaign.id)
        if ownership is not None and fence is None:
            return 0            # not (or no longer) this engine's campaign
        try:
            async with engine.db.acquire() as conn:
                dials = await claimer.claim(conn, campaign, wanted=wanted, now=engine.clock.now(),
                                            engine=config.name, pbx=config.pbx_name,
                                            lease_s=config.lease_s, fence=fence,
                                            free_operators=[o.id for o in engine.floor.free_for(campaign.id)])
        except NothingToDial:
            return 0
        loop_now = asyncio.get_running_loop().time()
        wall_now = engine.clock.now()
        chances = engine.answer_chances.get(campaign.id)
        calls = []
        for dial in dials:
            lead = dial.lead
            # The owner of a personal callback first; else whoever last talked to this person.
            call = Call(attempt_id=dial.attempt_id, channel_id=channel_id_of(dial.attempt_id), campaign_id=campaign.id,
                        lead_id=lead.id, phone=lead.phone, originated_at=loop_now,
                        owner_operator=lead.owner_operator or lead.last_operator, caller_id=dial.caller_id)
            if chances is not None:
                chances.dialed(call, features_of(lead, wall_now, campaign.timezone))
            engine.follow(call)
            calls.append(call)
        self._send(campaign, calls[:ORIGINATE_SLICE])
        if len(calls) > ORIGINATE_SLICE:
            self._tasks.spawn(self._send_in_slices(campaign, calls[ORIGINATE_SLICE:]), name=f"round-{campaign.id}")
        return len(dials)

    def _send(self, campaign: Campaign, calls: list[Call]) -> None:
        for call in calls:
            self._tasks.spawn(self._originate(campaign, call), name=call.channel_id)

    async def _send_in_slices(self, campaign: Campaign, calls: list[Call]) -> None:
        """The rest of a round's Originates, a slice per loop pass: the events and hand-offs that come
        meanwhile are handled between slices. Cancelled (the engine stops), the calls not sent yet are
        given back as any call never sent (``Engine.stop``)."""
        for start in range(0, len(calls), ORIGINATE_SLICE):
            await asyncio.sleep(0)
            self._send(campaign, calls[start:start + ORIGINATE_SLICE])

    def _claimer(self, campaign_id: int) -> Claimer:
        claimer = self.claimers.get(campaign_id)
        if claimer is None:
            claimer = self.claimers[campaign_id] = Claimer(campaign_id)
        return claimer

    async def _originate(self, campaign: Campaign, call: Call) -> None:
        engine, config = self._engine, self._engine.config
        request = OriginateRequest(
            channel=campaign.channel_for(call.phone), channel_id=call.channel_id,
            context=config.answered_context, exten="s", timeout_ms=campaign.ring_timeout_s * 1000,
            caller_id=call.caller_id or campaign.caller_id,
            variables={"ATTEMPT_ID": str(call.attempt_id), "LEAD_ID": str(call.lead_id), "DIALER_AMD": "0",
                       # named in the dialplan's trace in AstDB (dialer/dialplan_trace.py)
                       "DIALER_PHONE": call.phone,
                       # what the safe-harbor message says: who called (a prompt per campaign) and the number
                       "DIALER_SELLER_PROMPT": f"dialer/seller-{campaign.id}",
                       "DIALER_CALLBACK_NUMBER": campaign.caller_id.lstrip("+"),
                       # the dialplan's own safe harbor if no Redirect comes in time (see dialer/recovery.py)
                       "DIALER_SAFE_HARBOR_S": f"{campaign.safe_harbor_s:g}",
                       # prompts and digits from sounds/<language>/ (dialer/seller_prompt.py); else the endpoint's
                       **({"CHANNEL(language)": campaign.language} if campaign.language else {})},
        )
        if not engine.pbx.connected:
            self.not_dialed(call)
            return
        call.expect_legs(request.channel)
        call.sent = True
        try:
            await engine.pbx.originate(request)
        except PbxLinkLost:
            # Sent, but was it carried out? Never resend (a second call to the same person): the
            # reconciliation after re-login finds the channel or ends the attempt.
            log.warning("attempt %s: link lost while originating; will reconcile", call.attempt_id)
            return
        except PbxNotConnected:     # not sent, or refused by a stopping Asterisk (PbxShuttingDown): never dialed
            self.not_dialed(call)
            return
        except PbxError as exc:
            log.warning("attempt %s: Originate refused: %s", call.attempt_id, exc.message)
            if call.refused(asyncio.get_running_loop().time()):
                engine.call_ended(call)
            return
        engine.count(call.campaign_id, "originated")
        # The outcome may have come before the Response (same TCP read): never write over an ended state.
        state = "ringing" if call.state is CallState.ORIGINATING else None
        engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, state=state, originated_at=engine.clock.now(),
                                                  pbx=server_of(engine.pbx, call.channel_id)))

    def not_dialed(self, call: Call) -> None:
        """Claimed but never sent: the lead goes back as it was, the attempt row says why."""
        engine = self._engine
        call.not_dialed(asyncio.get_running_loop().time())
        engine.calls.pop(call.channel_id, None)
        engine.count(call.campaign_id, "not_dialed")
        now = engine.clock.now()
        engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, state="ended", ended_at=now, outcome="not_dialed"))
        name = engine.config.name
        engine.recorder.put(f"release lead {call.lead_id}",
                            lambda conn: leads.release(conn, lead_ids=[call.lead_id], engine=name))

    async def manual_dial(self, operator: FloorOperator, campaign_id: int, phone: str) -> str | None:
        """Click-to-call: the operator's own call, with the campaign's caller ID, recorded like any other.
        The customer is originated straight into the operator's conference."""
        if operator.state is not OperatorState.READY and operator.state is not OperatorState.PAUSED:
            return refused_in_state("dial", operator.state)
        if not operator.phone_up:
            return "your phone is not in your conference; log in again"
        if campaign_id not in operator.campaigns:
            return "not assigned to that campaign"
        engine, config = self._engine, self._engine.config
        runner = engine.runners.get(campaign_id)
        campaign = runner.campaign if runner else await campaigns.get_by_id(engine.db, campaign_id)
        now = engine.clock.now()
        try:
            found = normalize(phone, campaign.default_region)
        except PhoneError:
            # never a campaign lead: the dialer would call it again on its own (an internal number: the phone)
            return f"{phone.strip()!r} is not a phone number in {campaign.default_region}; dial the full number"
        number, phone = DialedByHand(found.e164, found.timezones), found.e164   # as typed: "+44 20 7946 0000"
        async with engine.db.acquire() as conn, conn.transaction():
            refusal = await self._claimer(campaign_id).gate.refuse_by_hand(conn, number, now)
            if refusal is not None:
                return refusal
            lead_id = await leads.claim_manual(conn, campaign_id=campaign_id, phone=phone, engine=config.name,
                                               now=now, lease_s=config.lease_s)
            if lead_id is None:
                return "that number is on a do-not-call list or already being dialed"
            [attempt_id] = await attempts.open_attempts(
                conn, [NewAttempt(lead_id, campaign_id, phone, campaign.caller_id)], engine=config.name,
                pbx=config.pbx_name, now=now)
        loop_now = asyncio.get_running_loop().time()
        call = Call(attempt_id=attempt_id, channel_id=channel_id_of(attempt_id), campaign_id=campaign_id,
                    lead_id=lead_id, phone=phone, originated_at=loop_now, preassigned=operator.id)
        engine.follow(call)
        engine.floor.take_call(operator, attempt_id, lead_id, loop_now)
        operator.paused_before_call = operator.state is OperatorState.PAUSED
        engine.floor.set_state(operator, OperatorState.RESERVED, loop_now)
        request = OriginateRequest(
            channel=campaign.channel_for(phone), channel_id=call.channel_id, context=config.handoff_context,
            exten=operator.extension, timeout_ms=campaign.ring_timeout_s * 1000, caller_id=campaign.caller_id,
            variables={"ATTEMPT_ID": str(attempt_id), "LEAD_ID": str(lead_id)})
        call.expect_legs(request.channel)
        call.sent = True
        try:
            await engine.pbx.originate(request)
        except PbxError as exc:
            if call.refused(asyncio.get_running_loop().time()):
                engine.call_ended(call)
            return f"the PBX refused the call: {exc.message}"
        engine.recorder.put_attempt(AttemptUpdate(attempt_id, state="ringing" if call.state is CallState.ORIGINATING
                                                  else None, originated_at=engine.clock.now(),
                                                  operator_id=operator.id))
        return None
