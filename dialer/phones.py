"""Operators' phones: how an operator comes onto the floor, stays on it, and leaves it.

A person logs in from the console: the engine calls their phone into their own conference
(``op<extension>``) and they are ready when it joins. The engine logs in by itself only simulated
operators, and, when it starts again after dying, the people whose session was still open (they were
working): nobody else's phone rings. Only a phone known to sit in its conference makes its operator
free for a hand-off (``FloorOperator.phone_up``, see ``dialer/floor.py``).

* A phone that hangs up while the operator is logged in (the person hung up, a network fault) is called
  back once, whatever the operator was doing. During a call the customer stays alone in the conference
  (Asterisk tells them nothing) and the conversation goes on when the phone rejoins. If the call-back is
  not answered or fails, the operator is logged out and the reason goes to their console; a customer
  still waiting in the conference is hung up then (the attempt ends connected, with its times, and the
  console keeps the card for the disposition).
* The AMI link lost: nobody knows whether the phones live on (a dropped link) or died with Asterisk
  (a restart), so none counts until the link is back and ``Status`` shows it; the phones gone are called
  again, once, like a dropped one. A starting Asterisk takes AMI logins a moment before it has loaded its
  dialplan (and SIP phones register again in the seconds after): a call that fails at once, without
  ringing, in the first ``STARTING_S`` after the link is back is placed again every ``STARTING_RETRY_S``
  rather than logging its operator out.

The phone's channel is ``op<extension>-<serial>`` (its far half, for Local channels, ``…-2``):
recovery and the server pool recognise phones by that name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ami.pbx import OriginateRequest, Pbx, PbxError, PbxNotConnected, far_half
from dialer.config import EngineConfig
from dialer.floor import Floor, FloorOperator, OperatorState
from dialer.tasks import BackgroundTasks

log = logging.getLogger(__name__)

# Why a phone is being called, as the reason given when it does not come into the conference.
LOGIN = "did not answer when called to log you in"
DROPPED = "hung up and did not answer when called back"
PBX_LOST = "was cut off when the PBX went down, and did not answer when called back"
RESTART = "did not answer when called back after the engine restarted"
STOPPED = "the engine stopped; it calls your phone to log you in again when it starts"
STOPPED_PAUSED = "the engine stopped while you were paused; log in again when you are back"
STOPPED_LONG_AGO = "the engine stopped at {at:%H:%M} UTC and was down a while; log in again"
ON_CALL_STATES = (OperatorState.RESERVED, OperatorState.ON_CALL)
STARTING_S = 15.0          # after the link is back, how long a call failing at once may be a PBX still starting
STARTING_RETRY_S = 1.0


class OperatorPhones:
    def __init__(self, pbx: Pbx, floor: Floor, config: EngineConfig, *,
                 freed: Callable[[FloorOperator], None] = lambda operator: None,
                 leave_call: Callable[[FloorOperator], None] = lambda operator: None,
                 tasks: BackgroundTasks | None = None) -> None:
        self.pbx = pbx
        self.floor = floor
        self.config = config
        self._freed = freed              # a ready operator's phone is confirmed: offer them calls
        self._leave_call = leave_call    # the operator leaves their call: the customer is hung up
        self._by_channel: dict[str, tuple[FloorOperator, str]] = {}   # both halves → (operator, phone id)
        self._calling: dict[int, str] = {}    # operator id → why their phone is being called (see above)
        self._serial = 0
        self._link_down_at: dict[int, str | None] = {}   # phones unconfirmed since a LinkDown: id → channel
        self._relinked_at: float | None = None           # when the link last came back (loop time)
        self._called_at: dict[int, float] = {}           # operator id → when their phone was last called
        self._tasks = tasks or BackgroundTasks()   # the engine's supervisor's, when it has one

    def next_serial(self) -> int:
        """A number no channel id of this engine has used (phones, and the supervisor's spy calls)."""
        self._serial += 1
        return self._serial

    # ---- logging in and out -------------------------------------------------------------------------

    async def log_in(self, operator: FloorOperator, why: str = LOGIN) -> None:
        """Call the operator's phone into its own conference; ready when it joins."""
        operator.logged_out_why = None
        self.floor.set_state(operator, OperatorState.LOGGING_IN, asyncio.get_running_loop().time())
        await self._call(operator, why)

    async def login(self, operator: FloorOperator) -> None:
        """The console's Log in, from any state: logged out, the phone is called; logged in with no phone
        in the conference and none being called, it is called now; otherwise there is nothing to do."""
        if operator.state is OperatorState.OFFLINE:
            await self.log_in(operator)
        elif not operator.phone_up and operator.phone_channel_id is None:
            await self._call(operator, self._calling.get(operator.id, LOGIN))

    async def log_out(self, operator: FloorOperator, reason: str | None = None, *,
                      leave_call: bool = True) -> None:
        """Hang up the operator's phone; the floor forgets them until the next login. On a call (and
        ``leave_call``), the customer is hung up rather than left alone in the conference."""
        await self.hang_up_phone(self.take_off(operator, reason, leave_call=leave_call))

    def take_off(self, operator: FloorOperator, reason: str | None = None, *, leave_call: bool = True) -> str | None:
        """``log_out`` up to its hang-up, in one step: several operators taken off the floor one after the
        other, with no await between, leave no moment in which an answer is handed to one of them whose
        log-out is still to come. Returns the phone's channel for ``hang_up_phone``."""
        now = asyncio.get_running_loop().time()
        if operator.state in ON_CALL_STATES and leave_call:
            self._leave_call(operator)
        self.floor.drop_call(operator)   # a wrap-up's disposition may still come
        phone = operator.phone_channel_id
        self._forget(operator)
        operator.logged_out_why = reason
        if reason:
            log.warning("operator %s logged out: %s", operator.name, reason)
        self.floor.set_state(operator, OperatorState.OFFLINE, now)
        return phone

    async def hang_up_phone(self, phone: str | None) -> None:
        if phone:
            try:
                await self.pbx.hangup(phone)
            except PbxError:
                pass  # already gone

    def adopt(self, operator: FloorOperator, channel_id: str) -> None:
        """The operator's phone is already in its conference (a previous run called it): follow it as if
        this engine had, and never reuse its channel id."""
        operator.phone_channel_id = channel_id
        self.floor.set_phone(operator, True)
        self._by_channel[channel_id] = self._by_channel[far_half(channel_id)] = (operator, channel_id)
        self._serial = max(self._serial, int(channel_id.rsplit("-", 1)[1]))

    # ---- the phone's events (the engine passes on those of channels that are no call) ----------------

    def not_answered(self, channel_id: str, reason: int, now: float) -> None:
        if (found := self._by_channel.get(channel_id)) and found[1] == channel_id:
            self._not_in(found[0], f"reason {reason}")

    def joined(self, channel_id: str, conference: str, now: float) -> None:
        found = self._by_channel.get(channel_id)
        if found is None or conference != found[0].conference:
            return
        operator = found[0]
        why = self._calling.pop(operator.id, None)
        if why is not None and why != LOGIN:
            log.info("operator %s: phone back in the conference", operator.name)
        self._confirm(operator, now)

    def hung_up(self, channel_id: str, now: float) -> None:
        found = self._by_channel.get(channel_id)
        if found is None:
            return
        operator = found[0]
        if not operator.phone_up:
            self._not_in(operator, "hung up")
            return
        self._forget(operator)
        self._call_back(operator, DROPPED, now)

    # ---- the AMI link ----------------------------------------------------------------------------------

    def link_down(self, server: str = "") -> None:
        """Events are lost from now on and Asterisk may be restarting: no phone counts until seen again."""
        for operator in self.floor.operators.values():
            if operator.state is not OperatorState.OFFLINE and self._on(operator, server):
                self._link_down_at[operator.id] = operator.phone_channel_id
                self.floor.set_phone(operator, False)
                if self._calling.get(operator.id) == DROPPED:
                    # Asterisk stopping hangs every phone up a second before the link closes: the PBX cut it
                    self._calling[operator.id] = PBX_LOST

    async def relinked(self, server: str = "") -> None:
        """The link is back: the phones Asterisk still has (answered, so in their conference) count again;
        those it lost are called back (a restart kills every channel)."""
        try:
            live = {s.channel_id: s for s in await self.pbx.status()}
        except PbxError as exc:
            log.warning("cannot ask the PBX for the operators' phones: %s; they wait for the next link", exc)
            return
        now = asyncio.get_running_loop().time()
        self._relinked_at = now
        for operator_id, phone in list(self._link_down_at.items()):
            operator = self.floor.operators[operator_id]
            if not self._on(operator, server):
                continue
            del self._link_down_at[operator_id]
            if operator.state is OperatorState.OFFLINE or (phone is not None and phone != operator.phone_channel_id):
                continue            # logged out, or called again since: its own events tell
            found = [s for s in (live.get(phone), live.get(far_half(phone))) if s is not None] if phone else []
            if found and all(s.state == "Up" for s in found):
                self._calling.pop(operator.id, None)
                self._confirm(operator, now)
            elif found:
                continue            # still ringing: its answer and join are still to come
            else:
                self._forget(operator)
                why = PBX_LOST if phone else self._calling.get(operator.id, PBX_LOST)
                self._call_back(operator, why, now, at_once=True)

    # ---- inside ------------------------------------------------------------------------------------------

    async def _call(self, operator: FloorOperator, why: str) -> None:
        channel_id = f"op{operator.extension}-{self.next_serial()}"
        operator.phone_channel_id = channel_id
        self.floor.set_phone(operator, False)
        self._calling[operator.id] = why
        self._called_at[operator.id] = asyncio.get_running_loop().time()
        self._by_channel[channel_id] = self._by_channel[far_half(channel_id)] = (operator, channel_id)
        template = self.config.operator_channel_template
        channel = template.format(ext=operator.extension)
        timeout_ms = int(self.config.phone_ring_s * 1000)
        if channel.startswith("Local/"):
            # A Local channel runs the operators context in its far half; the near half just holds.
            request = OriginateRequest(channel=channel, channel_id=channel_id, application="Wait", data="86400",
                                       timeout_ms=timeout_ms)
        else:
            request = OriginateRequest(channel=channel, channel_id=channel_id,
                                       context=self.config.operators_context, exten=operator.extension,
                                       timeout_ms=timeout_ms)
        try:
            await self.pbx.originate(request)
        except PbxError as exc:
            if operator.phone_channel_id != channel_id:
                return              # logged out or called again meanwhile
            if isinstance(exc, PbxNotConnected) or not self.pbx.connected or "shutting down" in exc.message:
                # No PBX to call it now: called again when the link is back (``relinked``).
                log.warning("operator %s: phone not called (%s); calling it when the PBX is back",
                            operator.name, exc.message)
                self._forget(operator)
                self._link_down_at[operator.id] = None
                return
            self._not_in(operator, exc.message)

    def _call_back(self, operator: FloorOperator, why: str, now: float, *, at_once: bool = False) -> None:
        """The phone dropped out of the conference: not free until it is back; call it back once."""
        log.warning("operator %s: phone gone (%s); calling it back", operator.name,
                    "the PBX restarted" if why == PBX_LOST else "hung up")
        if operator.state is OperatorState.READY:
            self.floor.set_state(operator, OperatorState.LOGGING_IN, now)
        self._calling[operator.id] = why
        # A moment's pause: a phone just hung up may still be busy, and when Asterisk stops (``core stop
        # now`` hangs up every channel about a second before it closes the link) a call-back sent at once
        # would die with it and log the operator out; after the pause the link is seen down and the phone
        # waits for it to come back.
        delay = 0.0 if at_once else self.config.phone_call_back_s
        asyncio.get_running_loop().call_later(delay, self._call_back_now, operator, why)

    def _call_back_now(self, operator: FloorOperator, why: str) -> None:
        if operator.state is OperatorState.OFFLINE or operator.phone_channel_id is not None:
            return                  # logged out, or logged in again, meanwhile
        if not self.pbx.connected:
            self._link_down_at[operator.id] = None   # called when the link is back (``relinked``)
            return
        self._tasks.spawn(self._call(operator, why), name=f"call back {operator.name}")

    def _not_in(self, operator: FloorOperator, detail: str) -> None:
        """The phone being called did not come into the conference: the operator is logged out, and told
        (unless the PBX is still starting: then it is called again)."""
        if self._pbx_starting(operator):
            self._forget(operator)
            log.info("operator %s: phone not called yet (%s): the PBX is still starting; calling again in %.0f s",
                     operator.name, detail, STARTING_RETRY_S)
            asyncio.get_running_loop().call_later(STARTING_RETRY_S, self._call_back_now, operator,
                                                  self._calling.get(operator.id, LOGIN))
            return
        why = self._calling.pop(operator.id, LOGIN)
        self._forget(operator)
        log.info("operator %s: phone not in the conference (%s)", operator.name, detail)
        reason = f"your phone {why}"
        if operator.state in ON_CALL_STATES:
            reason += "; the customer was hung up: set the call's disposition"
        self._tasks.spawn(self.log_out(operator, reason), name=f"log out {operator.name}")

    def _pbx_starting(self, operator: FloorOperator) -> bool:
        """Did this call fail at once (no time to ring) in the first seconds after the link came back?"""
        now = asyncio.get_running_loop().time()
        called_at = self._called_at.get(operator.id, now)
        return (self._relinked_at is not None and now - self._relinked_at < STARTING_S
                and now - called_at < self.config.phone_ring_s / 2)

    def _confirm(self, operator: FloorOperator, now: float) -> None:
        self.floor.set_phone(operator, True)
        if operator.state is OperatorState.LOGGING_IN:
            self.floor.set_state(operator, OperatorState.READY, now)
        elif operator.state is OperatorState.READY:
            self._freed(operator)

    def _forget(self, operator: FloorOperator) -> None:
        """The phone's events no longer concern the operator (it is gone, or hung up on purpose)."""
        phone = operator.phone_channel_id
        if phone is not None:
            self._by_channel.pop(phone, None)
            self._by_channel.pop(far_half(phone), None)
        operator.phone_channel_id = None
        self.floor.set_phone(operator, False)

    def _on(self, operator: FloorOperator, server: str) -> bool:
        """Is the operator's phone on this Asterisk server ("" = the only one, or not known)?"""
        server_of = getattr(self.pbx, "server_of", None)
        if not server or server_of is None or operator.phone_channel_id is None:
            return True
        return server_of(operator.phone_channel_id) in (server, None)
