"""The operators' side of a call: the end of a conversation, the wrap-up and its timer, ready again.

The floor (``dialer/floor.py``) holds each operator's state; this is what the engine does when it changes:
every change is queued to the store, a wrap-up gets its timer (the shortest ``wrap_up_max_s`` of the
operator's running campaigns, so nobody is kept out of the queue by a forgotten console), and an operator
free again takes a waiting call at once, else their campaigns dial for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from ami.pbx import PbxError
from dialer.call import Call, CallState, channel_id_of
from dialer.floor import STORED_STATE, FloorOperator, OperatorState
from dialer.surface import EngineSurface
from dialer.tasks import BackgroundTasks
from lists import dispositions, operators
from lists.attempts import AttemptUpdate
from lists.dispositions import UNKNOWN

log = logging.getLogger(__name__)


class OperatorWork:
    def __init__(self, engine: EngineSurface, tasks: BackgroundTasks) -> None:
        self._engine = engine
        self._tasks = tasks
        self._wrap_timers: dict[int, asyncio.TimerHandle] = {}
        self.wrap_up_listeners: list[Callable[[FloorOperator], None]] = []

    def release(self, call: Call, operator: FloorOperator, now: float) -> None:
        """The conversation is over for the operator: count it and start the wrap-up (ended at once when
        the call was coded while it went on, as saving a code in the wrap-up ends it)."""
        call.operator_released = True
        operator.calls += 1
        operator.last_talk_s = now - (call.connected_at or now)
        operator.talk_s += operator.last_talk_s
        self._engine.floor.set_state(operator, OperatorState.WRAP_UP, now)
        if call.coded:
            self.wrap_up_done(operator)    # its code was saved during the call: nothing left to do after it

    async def end_call(self, operator: FloorOperator, *, rate: bool) -> str | None:
        """The operator ends the conversation: the customer is hung up, or sent to the rating menu."""
        engine = self._engine
        call = engine.calls.get(channel_id_of(operator.attempt_id)) if operator.attempt_id is not None else None
        if call is None or call.state is not CallState.CONNECTED:
            return "no connected call to end"
        try:
            if rate:
                await engine.pbx.redirect(call.channel_id, engine.config.rating_context, "s")
            else:
                await engine.pbx.hangup(call.channel_id)
        except PbxError as exc:
            return f"the PBX refused: {exc.message}"
        if not call.operator_released:
            self.release(call, operator, asyncio.get_running_loop().time())
        return None

    def changed(self, operator: FloorOperator, previous: OperatorState, now: float) -> None:
        """Every change of an operator's state (the floor's listener)."""
        engine = self._engine
        state = STORED_STATE.get(operator.state, operator.state.value)
        if state != STORED_STATE.get(previous, previous.value):    # RESERVED then ON_CALL: one on_call row
            # ``now`` may lie in the past: a call found ended after a PBX outage ended when the link was lost
            late = max(0.0, asyncio.get_running_loop().time() - now)
            at, operator_id = engine.clock.now() - timedelta(seconds=late), operator.id
            engine.recorder.put(f"operator {operator.name} {state}", lambda conn: operators.record_state(
                conn, operator_id=operator_id, state=state, now=at))
        if operator.state is OperatorState.WRAP_UP:
            handle = asyncio.get_running_loop().call_later(self._wrap_up_max_s(operator), self._ran_out, operator)
            self._wrap_timers[operator.id] = handle
            for listener in self.wrap_up_listeners:
                listener(operator)
        if operator.state is OperatorState.READY:
            self.free(operator)

    def free(self, operator: FloorOperator) -> None:
        """A waiting call for the operator now free, else their campaigns dial for them."""
        if not self._engine.handoff.operator_free(operator):
            for campaign_id in operator.campaigns:
                self._engine.wake(campaign_id)

    def leave_call(self, operator: FloorOperator) -> None:
        """The operator leaves their call (logged out, or their phone is gone for good): the customer is
        hung up rather than left alone in the conference. A connected call counts as the operator's and
        ends ``connected`` when its Hangup comes, coded ``unknown`` until the console sends the real code."""
        engine = self._engine
        call = engine.calls.get(channel_id_of(operator.attempt_id)) if operator.attempt_id is not None else None
        if call is None or not call.alive or call.operator_released:
            return
        call.operator_released = True
        if call.connected_at is not None:
            now = asyncio.get_running_loop().time()
            operator.calls += 1
            operator.last_talk_s = now - call.connected_at
            operator.talk_s += operator.last_talk_s
            # No wrap-up follows: the system's code until the operator (console) or a manager sets the real one.
            engine.recorder.put_attempt(AttemptUpdate(call.attempt_id, disposition=UNKNOWN))
        self._tasks.spawn(self._hang_up_customer(call), name=f"hang up {call.channel_id}")

    async def _hang_up_customer(self, call: Call) -> None:
        try:
            await self._engine.pbx.hangup(call.channel_id)
        except PbxError as exc:
            log.info("attempt %s: Hangup refused: %s", call.attempt_id, exc.message)

    def _wrap_up_max_s(self, operator: FloorOperator) -> float:
        """The shortest wrap-up limit among the operator's running campaigns (``wrap_up_max_s``)."""
        runners = self._engine.runners
        limits = [float(r.campaign.pacing["wrap_up_max_s"]) for c in operator.campaigns
                  if (r := runners.get(c)) is not None and "wrap_up_max_s" in r.campaign.pacing]
        return min(limits, default=self._engine.config.wrap_up_max_s)

    def _ran_out(self, operator: FloorOperator) -> None:
        """The wrap-up timer fired."""
        self.end_uncoded(operator, f"ran out after {self._wrap_up_max_s(operator):.0f} s")

    def end_uncoded(self, operator: FloorOperator, how: str) -> None:
        """The wrap-up ends without the operator's code (its timer, or Ready pressed first): the operator is
        free again, and a call left without a code is coded ``no_code`` (the lead stays finished, not lost
        nor dialed again, until someone sets the real code); the log and the operator's console say which."""
        attempt_id = operator.attempt_id if operator.state is OperatorState.WRAP_UP else None
        self.wrap_up_done(operator)
        if attempt_id is not None:
            self.code_uncoded(operator, attempt_id, how)

    def code_uncoded(self, operator: FloorOperator, attempt_id: int, how: str) -> None:
        """Code the wrap-up's call ``no_code`` unless a code was saved (and say so once)."""
        engine, name = self._engine, operator.name

        async def code_it(conn: asyncpg.Connection) -> None:
            if await dispositions.mark_no_code(conn, attempt_id=attempt_id, now=engine.clock.now()) \
                    and operator.wrap_up_ran_out != attempt_id:     # a batch written again says it once
                operator.wrap_up_ran_out = attempt_id
                log.warning("operator %s: the wrap-up of attempt %s %s with no code: coded %r (the console can "
                            "still choose one; or `dialer lists dispose %s CODE`)",
                            name, attempt_id, how, dispositions.NO_CODE, attempt_id)

        engine.recorder.put(f"no code for attempt {attempt_id}", code_it)

    def wrap_up_done(self, operator: FloorOperator) -> None:
        """The operator finished the after-call work (console Ready, a simulated operator, or the timer)."""
        if operator.state is not OperatorState.WRAP_UP:
            return
        handle = self._wrap_timers.pop(operator.id, None)
        if handle is not None:
            handle.cancel()
        now = asyncio.get_running_loop().time()
        for campaign_id in operator.campaigns:
            if estimator := self._engine.estimators.get(campaign_id):
                estimator.observe_handle(now, operator.last_talk_s, now - operator.since)
        self._engine.floor.after_call(operator, now)

    def stop(self) -> None:
        """The engine stops: no wrap-up timer fires after it."""
        for handle in self._wrap_timers.values():
            handle.cancel()
