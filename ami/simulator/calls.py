"""Originate: the customer channel, the callee's fate played out in loop time, and the outcome.

A ``Local/{number}@{ctx}`` originate makes two halves as on Asterisk: ``;1`` (Uniqueid = ChannelId)
goes to the Originate's Context/Application once answered; ``;2`` (OtherChannelId) runs ``ctx`` —
the callee model for a callee context (``pstn-sim``), or one of the emulated dialplan contexts
(``operators`` for an operator's phone, ``hold``). ``PJSIP/{number}@{endpoint}`` is one channel whose
far end is the callee model, as a real trunk would be. Event order per channel follows the transcripts
in tests/fixtures/asterisk/transcripts (originate-answered, -busy, -noanswer, -congestion, -bad-extension);
the order of the burst that ends a call never answered is one of those seen on Asterisk (``orders``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ami.simulator.callees import CalleeFate, CalleeModel
from ami.simulator.channels import UNKNOWN, Channel, ChannelState
from ami.simulator.dialplan import ANSWER_DELAY_S, Dialplan
from ami.simulator.exchange import Exchange, OriginateOrder, OriginateOutcome
from ami.simulator.orders import BurstOrders, Kind

Done = Callable[[OriginateOutcome], None]
# The reference dialplan rings "no answer" callees with Wait(120); shown in Newexten only.
NO_ANSWER_WAIT = "120"


@dataclass(eq=False)
class Call:
    order: OriginateOrder
    one: Channel            # the originated channel (;1, or the single trunk channel)
    two: Channel            # the callee's side (;2, or the same trunk channel)
    done: Done | None
    fate: CalleeFate | None = None
    finished: bool = False  # the originate has its outcome (answered or failed)

    @property
    def local(self) -> bool:
        return self.two is not self.one


class Calls:
    def __init__(self, exchange: Exchange, dialplan: Dialplan, callees: CalleeModel,
                 callee_contexts: frozenset[str] | None, orders: BurstOrders | None = None) -> None:
        self.x = exchange
        self.orders = orders or BurstOrders()
        self.dialplan = dialplan
        self.callees = callees
        self.callee_contexts = callee_contexts
        dialplan.answer_far_half = self._answer_from_far_half
        exchange.on_channel_end = self._channel_ended

    def _is_callee_context(self, ctx: str) -> bool:
        if self.callee_contexts is None:
            return not self.dialplan.knows(ctx)
        return ctx in self.callee_contexts

    def originate(self, order: OriginateOrder, done: Done | None = None) -> None:
        """Queue the originate; its events start on the next loop turn (after the action's Response)."""
        self.x.loop.call_soon(self._start, order, done)

    # ---- set-up --------------------------------------------------------------------------------

    def _start(self, order: OriginateOrder, done: Done | None) -> None:
        x = self.x
        x.tally.originated += 1
        tech, _, rest = order.channel.partition("/")
        uid1 = order.channel_id or x.new_uniqueid()
        if tech.lower() == "local":
            uid2 = order.other_channel_id or (f"{order.channel_id};2" if order.channel_id else x.new_uniqueid())
        else:
            uid2 = uid1
        if tech.lower() not in ("local", "pjsip") or x.uniqueid_in_use(uid1) or x.uniqueid_in_use(uid2):
            # Unknown technology, or a Uniqueid still in use: Asterisk cannot allocate the channel.
            self._fail_without_channels(order, done)
            return
        number, _, where = rest.partition("@")
        where = where.split("/")[0]
        if tech.lower() == "local":
            self._start_local(order, done, number, where or "default", uid1, uid2)
        else:
            self._start_trunk(order, done, number, where or number, uid1)

    def _fail_without_channels(self, order: OriginateOrder, done: Done | None) -> None:
        self.x.tally.failed += 1
        self.x.originate_response(order, False, 0, order.channel, UNKNOWN, (UNKNOWN, UNKNOWN))
        if done:
            done(OriginateOutcome(False, 0))

    def _start_local(self, order: OriginateOrder, done: Done | None, number: str, ctx: str,
                     uid1: str, uid2: str) -> None:
        x = self.x
        base = f"Local/{number}@{ctx}-{x.new_name_suffix()}"
        now = x.now()
        one = Channel(base + ";1", uid1, uid1, ChannelState.DOWN, ctx, number, now)
        two = Channel(base + ";2", uid2, uid1, ChannelState.RING, ctx, number, now)
        one.peer, two.peer = two, one
        call = Call(order, one, two, done)
        one.call = two.call = call
        x.add(one)
        x.add(two)
        x.newexten(one, 1, "AppDial2", "(Outgoing Line)")
        is_callee = self._is_callee_context(ctx)
        if not is_callee and not self.dialplan.has_extension(ctx, number):
            # originate-bad-extension: both halves gone at once, Reason 0, Uniqueid <unknown>.
            call.finished = True
            x.tally.failed += 1
            x.end(two, 0)
            x.end(one, 0)
            x.originate_response(order, False, 0, order.channel, UNKNOWN, (UNKNOWN, UNKNOWN))
            if done:
                done(OriginateOutcome(False, 0))
            return
        if is_callee and self.callee_contexts is not None and not number[:1].isdigit():
            # originate-plus-sign: a number like +15550001 matches no _X. pattern of a named PSTN context
            # (pstn-sim of config/asterisk, pstn-hidden of the recordings). An unnamed context stands for a
            # trunk to the phone network, which takes +E.164 as it is.
            # Queued all the same; then ;2 (Ring, cause 0), Reason 0, ;1 (Down, cause 0), no DialEnd. Why
            # ("No such extension") is only in Asterisk's log.
            self._dress(call)
            self._no_such_number(call)
            return
        self._dress(call)
        if "call" in x.listening:
            x.publish("LocalBridge", "call", [*one.block("LocalOne"), *two.block("LocalTwo"), ("Context", ctx),
                                              ("Exten", number), ("LocalOptimization", "Yes")])
        x.dial_event("DialBegin", one, ("DialString", f"{number}@{ctx}"))
        one.later_fate(order.timeout_s, self._timeout, call)
        if is_callee:
            self._play(call, number)
        else:
            self.dialplan.enter(two, ctx, number)

    def _start_trunk(self, order: OriginateOrder, done: Done | None, number: str, endpoint: str,
                     uid: str) -> None:
        x = self.x
        ch = Channel(f"PJSIP/{endpoint}-{x.new_name_suffix()}", uid, uid, ChannelState.DOWN,
                     order.context or "default", "s", x.now())
        call = Call(order, ch, ch, done)
        ch.call = call
        x.add(ch)
        self._dress(call)
        x.dial_event("DialBegin", ch, ("DialString", order.channel.partition("/")[2]))
        ch.later_fate(order.timeout_s, self._timeout, call)
        self._play(call, number)

    def _dress(self, call: Call) -> None:
        """Variables and caller ID on each half, as Asterisk reports them before dialing."""
        x = self.x
        halves = (call.one, call.two) if call.local else (call.one,)
        for ch in halves:
            for key, value in call.order.variables:
                x.varset(ch, key, value)
            if call.order.caller_id is not None:
                ch.caller_num, ch.caller_name = call.order.caller_id
                x.channel_event("NewCallerid", ch, ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"))
                ch.connected_num, ch.connected_name = call.order.caller_id
                x.channel_event("NewConnectedLine", ch)

    # ---- the callee's fate ---------------------------------------------------------------------

    def _play(self, call: Call, number: str) -> None:
        fate = self.callees.fate(number)
        call.fate = fate
        self.x.originates_by_number[number] += 1
        one, two, x = call.one, call.two, self.x
        if fate.outcome in ("answer", "no_answer"):
            if call.local:
                x.newexten(two, 1, "NoOp", "answer after ring" if fate.outcome == "answer" else "no answer")
                x.newexten(two, 2, "Ringing", "")
            x.set_state(one, ChannelState.RINGING)
            if call.local:
                x.newexten(two, 3, "Wait", _fmt(fate.ring_s) if fate.outcome == "answer" else NO_ANSWER_WAIT)
            x.dial_event("DialState", one, ("DialStatus", "RINGING"))
            if fate.outcome == "answer" and fate.ring_s < call.order.timeout_s:
                two.machine = one.machine = fate.machine
                two.later_fate(fate.ring_s, self._callee_answers, call)
            return
        if call.local:
            x.newexten(two, 1, "NoOp", fate.outcome)
        if fate.ring_s > 0:
            if call.local:
                x.newexten(two, 2, "Wait", _fmt(fate.ring_s))
            two.later_fate(fate.ring_s, self._busy if fate.outcome == "busy" else self._congestion, call)
        elif fate.outcome == "busy":
            self._busy(call)
        else:
            self._congestion(call)

    def _callee_answers(self, call: Call) -> None:
        if call.local:
            self.x.newexten(call.two, 4, "Answer", "")
        self._answer(call)
        fate = call.fate
        assert fate is not None
        two = call.two
        if call.local and fate.talk_s > ANSWER_DELAY_S:
            # Asterisk starts this Wait 0.5 s after Answer; shown at once here, which saves a timer per call.
            self.x.newexten(two, 5, "Wait", _fmt(fate.talk_s - ANSWER_DELAY_S))
        two.later_fate(fate.talk_s, self._callee_hangs_up, call)
        if not math.isinf(fate.patience_s):
            two.later_fate(fate.patience_s, self._patience_over, call)

    def _answer_from_far_half(self, two: Channel) -> None:
        """A dialplan context on ;2 ran Answer(): the originate is answered (operator phones, hold)."""
        if two.call is not None and not two.call.finished:
            self._answer(two.call)

    def _answer(self, call: Call) -> None:
        x, one, two, order = self.x, call.one, call.two, call.order
        call.finished = True
        for handle in one.fate_timers:   # the Originate timeout
            handle.cancel()
        one.fate_timers.clear()
        if call.local:
            x.set_state(two, ChannelState.UP)
        x.set_state(one, ChannelState.UP)
        x.dial_event("DialEnd", one, ("DialStatus", "ANSWER"))
        x.tally.answered += 1
        x.originate_response(order, True, 4, one.name, one.uniqueid, (one.caller_num, one.caller_name))
        if call.done:
            call.done(OriginateOutcome(True, 4))
        if order.application:
            self.dialplan.run_application(one, order.application, order.data)
        else:
            self.dialplan.enter(one, order.context or "default", order.exten or "s", order.priority)

    def _callee_hangs_up(self, call: Call) -> None:
        two = call.two
        if not two.alive:
            return
        if call.local:
            self.x.newexten(two, 6, "Hangup", "16")
        self.x.hang_up(two, 16, soft=call.local)

    def _patience_over(self, call: Call) -> None:
        """The callee gives up unless an operator (or the safe-harbor message) has them by now."""
        one = call.one
        if not one.alive:
            return
        connected = one.conference is not None and one.conference.has_operator()
        if not connected and one.context != "dialer-safeharbor":
            self._callee_hangs_up(call)

    def _fail(self, call: Call, reason: int, status: str, far_cause: int, one_cause: int) -> None:
        """Busy (17, Reason 5) and congestion (34, Reason 8): DialEnd, OriginateResponse and both halves
        gone, in one of the orders Asterisk sends them. ;1 says cause 0: the cause is only on ;2."""
        x, one, two = self.x, call.one, call.two
        call.finished = True
        if call.local:
            x.newexten(two, two.priority + 1, "Busy" if status == "BUSY" else "Congestion", "3")
            x.set_state(two, ChannelState.BUSY)

        def far() -> None:
            x.channel_event("HangupRequest", two, ("Cause", "0"))
            x.channel_event("SoftHangupRequest", two, ("Cause", "16"))
            x.end(two, far_cause)

        kind: Kind = "busy" if reason == 5 else "congestion"
        self._burst(call, kind, reason, dial_end=lambda: x.dial_event("DialEnd", one, ("DialStatus", status)),
                    near=lambda: x.end(one, one_cause if call.local else far_cause), far=far)

    def _busy(self, call: Call) -> None:
        self.x.tally.busy += 1
        self._fail(call, 5, "BUSY", 17, 0)

    def _congestion(self, call: Call) -> None:
        self.x.tally.congestion += 1
        self._fail(call, 8, "CONGESTION", 34, 0)

    def _timeout(self, call: Call) -> None:
        """Originate Timeout without answer: cause 19 on both halves, Reason 3, and no DialEnd, in one of
        the orders Asterisk sends them (the Hangup of ;1 may come before the OriginateResponse)."""
        if call.finished:
            return
        x, one, two = self.x, call.one, call.two
        call.finished = True
        x.tally.no_answer += 1

        def far() -> None:
            x.channel_event("HangupRequest", two, ("Cause", "19"))
            x.channel_event("SoftHangupRequest", two, ("Cause", "16"))
            x.end(two, 19)

        self._burst(call, "no_answer", 3, dial_end=lambda: None, near=lambda: x.end(one, 19), far=far)

    def _no_such_number(self, call: Call) -> None:
        x, one, two = self.x, call.one, call.two
        call.finished = True
        x.tally.failed += 1
        x.end(two, 0)
        x.originate_response(call.order, False, 0, call.order.channel, one.uniqueid,
                             (one.caller_num, one.caller_name))
        x.end(one, 0)
        if call.done:
            call.done(OriginateOutcome(False, 0))

    def _burst(self, call: Call, kind: Kind, reason: int, *, dial_end: Callable[[], None],
               near: Callable[[], None], far: Callable[[], None]) -> None:
        one = call.one

        def response() -> None:
            self.x.originate_response(call.order, False, reason, call.order.channel, one.uniqueid,
                                      (one.caller_num, one.caller_name))

        steps = {"response": response, "dial_end": dial_end, "near": near, "far": far}
        for step in self.orders.pick(kind, far=call.local):
            steps[step]()
        if call.done:
            call.done(OriginateOutcome(False, reason))

    def _channel_ended(self, ch: Channel) -> None:
        """Hung up (by an action) before the originate had an outcome: Reason 1, the line went away."""
        call = ch.call
        if call is None or call.finished:
            return
        call.finished = True
        self.x.tally.failed += 1
        self.x.originate_response(call.order, False, 1, call.order.channel, call.one.uniqueid,
                                  (call.one.caller_num, call.one.caller_name))
        if call.done:
            call.done(OriginateOutcome(False, 1))


def _fmt(seconds: float) -> str:
    return f"{round(seconds, 3):g}"
