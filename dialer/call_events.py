"""What the PBX says about calls, and what each call's end means: the engine's event dispatch and outcomes.

Events are handled synchronously as they arrive, so an answered call is handed to an operator within the
same loop iteration. The call's own state machine (``dialer/call.py``) judges each event; this applies what
follows from a transition: the hand-off, the counts and estimates, the attempt row, the lead's settlement,
the operator freed, the campaign's pacing woken. Events that do not name a live call are the operators'
phones (``dialer/phones.py``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

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
    OriginateResult,
    PbxEvent,
    near_half,
)
from compliance.limits import legal_limits
from dialer.call import Call, CallState
from dialer.recovery import Recovery
from dialer.refusals import RefusedCalls
from dialer.surface import EngineSurface
from dialer.tasks import BackgroundTasks
from lists import leads
from lists.attempts import AttemptUpdate

log = logging.getLogger(__name__)


class CallEvents:
    def __init__(self, engine: EngineSurface, recovery: Recovery, refusals: RefusedCalls,
                 tasks: BackgroundTasks) -> None:
        self._engine = engine
        self._recovery = recovery
        self._refusals = refusals
        self._tasks = tasks
        self._link_lost_at: dict[str, float] = {}   # server → loop time its AMI link went down

    def on_event(self, event: PbxEvent) -> None:
        if self._recovery.held(event):
            return
        engine = self._engine
        calls = engine.calls
        now = asyncio.get_running_loop().time()
        match event:
            case DialEnded(channel_id=channel_id, dial_status=status):
                if call := calls.get(channel_id):
                    call.dial_ended(status)
            case OriginateResult(channel_id=channel_id, success=success, reason=reason):
                if call := calls.get(channel_id):
                    if success:
                        call.heard_response(reason)
                        self.answered(call, now)
                    elif call.originate_failed(now, reason):
                        self.ended(call)
                elif not success:
                    engine.phones.not_answered(channel_id, reason, now)
            case CallAnswered(channel_id=channel_id):
                if call := calls.get(channel_id):
                    self.answered(call, now)
            case ChannelHungUp(channel_id=channel_id, cause=cause):
                self._hung_up(channel_id, cause, now)
            case ConferenceJoined(conference=conference, channel_id=channel_id):
                if call := calls.get(channel_id):
                    if call.state is CallState.ORIGINATING:   # a manual call can join before its OriginateResponse
                        self.answered(call, now)
                    engine.handoff.joined(call, now)
                else:
                    engine.phones.joined(channel_id, conference, now)
            case CallRated(channel_id=channel_id, score=score):
                if call := calls.get(channel_id):
                    engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, rating=score))
            case NoOperatorInTime(channel_id=channel_id):
                if call := calls.get(channel_id):
                    self._recovery.message_played(call)
            case OptedOut(channel_id=channel_id):
                if call := calls.get(channel_id):
                    engine.opt_out(call.phone, source="opt-out:keypress")
            case LinkDown(reason=reason, server=server):
                log.warning("AMI link down (%s): no new calls until it is back", reason)
                self._link_lost_at.setdefault(server, now)     # the first loss: calls were last heard then
                engine.phones.link_down(server)
            case LinkUp(server=server):
                sent = [channel_id for channel_id, call in calls.items() if call.sent]
                lost_at = self._link_lost_at.pop(server, None)
                self._tasks.spawn(self._recovery.reconcile(sent, lost_at), name="reconcile")
                self._tasks.spawn(engine.phones.relinked(server), name="phones-relinked")

    def answered(self, call: Call, now: float) -> None:
        if not call.answer(now):
            return
        engine = self._engine
        if call.preassigned is not None:       # manual call: already on its way into the operator's conference
            call.hand_off(call.preassigned)
            engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, state="answered",
                                                      answered_at=engine.clock.now(),
                                                      recording=f"{call.attempt_id}.wav"))
            return
        engine.count_call(call, "answered")
        engine.estimators[call.campaign_id].observe_dial(now, True, now - call.originated_at)
        if (chances := engine.answer_chances.get(call.campaign_id)) is not None:
            chances.ended_ringing(now, call, True)
        engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, state="waiting", answered_at=engine.clock.now(),
                                                  recording=f"{call.attempt_id}.wav"))
        runner = engine.runners.get(call.campaign_id)
        safe_harbor_s = (min(runner.campaign.safe_harbor_s, runner.limits.max_wait_s) if runner
                         else legal_limits(None).max_wait_s)
        routing = str(runner.campaign.pacing.get("routing", "longest_idle")) if runner else "longest_idle"
        engine.handoff.answered(call, safe_harbor_s, routing)
        engine.wake(call.campaign_id)

    def _hung_up(self, channel_id: str, cause: int, now: float) -> None:
        calls = self._engine.calls
        call = calls.get(channel_id) or calls.get(near_half(channel_id))
        leg = call.leg_of(channel_id) if call is not None else None
        if call is None or leg is None:
            self._engine.phones.hung_up(channel_id, now)
        elif call.leg_hung_up(now, leg, cause):
            self.ended(call)

    def changed(self, call: Call) -> None:
        """The hand-off moved the call on: connected to its operator, or sent to the safe-harbor message."""
        engine = self._engine
        self._decided(call, asyncio.get_running_loop().time())
        if call.state is CallState.CONNECTED:
            engine.count_call(call, "connected")
            engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, state="connected",
                                                      connected_at=engine.clock.now(), operator_id=call.operator_id))
        elif call.state is CallState.SAFE_HARBOR:
            engine.count_call(call, "abandoned")
            engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, state="safe_harbor", abandoned=True))

    def _decided(self, call: Call, now: float) -> None:
        """An answer enters the abandonment ledger once its fate is known (put through, sent to the message,
        or hung up while waiting), not when the conversation ends: the supervisor's figures then agree with
        the answers on the floor, and pacing sees the answers of calls still in conversation."""
        runner = self._engine.runners.get(call.campaign_id)
        if call.ledgered or call.answered_at is None or runner is None:
            return
        call.ledgered = True
        runner.ledger.add(now, call.abandoned or call.state is CallState.SAFE_HARBOR)

    def ended(self, call: Call) -> None:
        engine = self._engine
        # when it ended: now, or earlier when a recovery found it gone (the moment the link was lost)
        now = asyncio.get_running_loop().time()
        end = min(now, call.ended_at) if call.ended_at is not None else now
        engine.handoff.ended(call)
        engine.calls.pop(call.channel_id, None)
        runner = engine.runners.get(call.campaign_id)
        if call.answered_at is None:
            engine.estimators[call.campaign_id].observe_dial(now, False, now - call.originated_at)
            if (chances := engine.answer_chances.get(call.campaign_id)) is not None:
                chances.ended_ringing(now, call, False)
        elif not call.ledgered and call.outcome == "dropped":
            if not call.missed_window:
                engine.count_call(call, "abandoned")   # the caller hung up waiting: an abandoned answer
            self._decided(call, now)
        if runner is not None:
            self._refusals.ended(call, runner.campaign.channel_template)
        # a manual call that was never answered has no operator_id yet: its operator is the one who dialed it
        operator = engine.floor.operators.get(call.operator_id or call.preassigned or -1)
        if operator is not None and operator.attempt_id == call.attempt_id and not call.operator_released:
            if call.connected_at is not None:
                engine.release_operator(call, operator, max(end, operator.since))
            else:
                engine.floor.after_call(operator, now)
        ended_at = engine.clock.now() - timedelta(seconds=now - end)
        engine.recorder.put_attempt(AttemptUpdate(
            call.attempt_id, state="ended", ended_at=ended_at, outcome=call.outcome,
            originate_reason=call.originate_reason, dial_status=call.dial_status,
            hangup_cause=call.hangup_cause, operator_id=call.operator_id, abandoned=call.abandoned))
        name, at, outcome, lead_id = engine.config.name, ended_at, call.outcome or "failed", call.lead_id
        cause = call.hangup_cause   # says whether the number itself is wrong (then its lead moves on from it)
        engine.recorder.put(f"settle lead {lead_id}", lambda conn: leads.settle(
            conn, lead_id=lead_id, engine=name, outcome=outcome, now=at, cause=cause))
        engine.wake(call.campaign_id)
