"""Operators' phones: how an operator comes onto the floor and leaves it.

At login the engine calls the operator's phone into the operator's own conference (``op<extension>``);
the operator is ready when the phone joins it. A phone that is not answered, or hangs up while the
operator waits for calls, logs the operator out. The phone's channel is ``op<extension>-<serial>`` (its
far half, for Local channels, ``…-2``): recovery and the server pool recognise phones by that name.
"""

from __future__ import annotations

import asyncio
import logging

from ami.pbx import OriginateRequest, Pbx, PbxError
from dialer.config import EngineConfig
from dialer.floor import Floor, FloorOperator, OperatorState

log = logging.getLogger(__name__)


class OperatorPhones:
    def __init__(self, pbx: Pbx, floor: Floor, config: EngineConfig) -> None:
        self.pbx = pbx
        self.floor = floor
        self.config = config
        self._by_channel: dict[str, FloorOperator] = {}     # phone channel id (and its "-2" half) → operator
        self._serial = 0

    def next_serial(self) -> int:
        """A number no channel id of this engine has used (phones, and the supervisor's spy calls)."""
        self._serial += 1
        return self._serial

    async def log_in(self, operator: FloorOperator) -> None:
        """Call the operator's phone into its own conference; ready when it joins."""
        channel_id = f"op{operator.extension}-{self.next_serial()}"
        operator.phone_channel_id = channel_id
        self._by_channel[channel_id] = operator
        self._by_channel[channel_id + "-2"] = operator
        template = self.config.operator_channel_template
        channel = template.format(ext=operator.extension)
        if channel.startswith("Local/"):
            # A Local channel runs the operators context in its far half; the near half just holds.
            request = OriginateRequest(channel=channel, channel_id=channel_id, application="Wait", data="86400",
                                       timeout_ms=30_000)
        else:
            request = OriginateRequest(channel=channel, channel_id=channel_id,
                                       context=self.config.operators_context, exten=operator.extension,
                                       timeout_ms=30_000)
        self.floor.set_state(operator, OperatorState.LOGGING_IN, asyncio.get_running_loop().time())
        try:
            await self.pbx.originate(request)
        except PbxError as exc:
            log.warning("operator %s: phone could not be called: %s", operator.name, exc)
            self.floor.set_state(operator, OperatorState.OFFLINE, asyncio.get_running_loop().time())

    async def log_out(self, operator: FloorOperator) -> None:
        """Hang up the operator's phone; the floor forgets them until the next login."""
        now = asyncio.get_running_loop().time()
        if operator.phone_channel_id:
            # forget the phone first: its Hangup is expected, not an operator dropping off
            self._by_channel.pop(operator.phone_channel_id, None)
            self._by_channel.pop(operator.phone_channel_id + "-2", None)
            try:
                await self.pbx.hangup(operator.phone_channel_id)
            except PbxError:
                pass  # already gone
        self.floor.set_state(operator, OperatorState.OFFLINE, now)

    def adopt(self, operator: FloorOperator, channel_id: str) -> None:
        """The operator's phone is already in its conference (a previous run called it): follow it as if
        this engine had, and never reuse its channel id."""
        operator.phone_channel_id = channel_id
        self._by_channel[channel_id] = operator
        self._by_channel[channel_id + "-2"] = operator
        self._serial = max(self._serial, int(channel_id.rsplit("-", 1)[1]))

    # ---- the phone's events (the engine passes on those of channels that are no call) ----------------

    def not_answered(self, channel_id: str, reason: int, now: float) -> None:
        if operator := self._by_channel.get(channel_id):
            log.warning("operator %s: phone not answered (reason %s)", operator.name, reason)
            self.floor.set_state(operator, OperatorState.OFFLINE, now)

    def joined(self, channel_id: str, conference: str, now: float) -> None:
        operator = self._by_channel.get(channel_id)
        if operator and conference == operator.conference and operator.state is OperatorState.LOGGING_IN:
            self.floor.set_state(operator, OperatorState.READY, now)

    def hung_up(self, channel_id: str, now: float) -> None:
        if operator := self._by_channel.pop(channel_id, None):
            if operator.state in (OperatorState.READY, OperatorState.LOGGING_IN, OperatorState.PAUSED):
                log.warning("operator %s: phone hung up; logged out", operator.name)
                self.floor.set_state(operator, OperatorState.OFFLINE, now)
