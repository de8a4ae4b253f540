"""From "a person answered" to "an operator is talking to them", inside the 2-second window.

Nothing here waits for the database: the operator is chosen from the in-memory floor and the call is
Redirected into the operator's conference at once. A call that finds no operator waits; when the
safe-harbor deadline comes first, it is Redirected to the message context and counts as abandoned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from ami.pbx import Pbx, PbxError
from dialer.call import Call, CallState
from dialer.config import EngineConfig
from dialer.floor import Floor, FloorOperator, OperatorState
from dialer.tasks import BackgroundTasks

log = logging.getLogger(__name__)


class HandOff:
    def __init__(self, pbx: Pbx, floor: Floor, config: EngineConfig,
                 on_change: Callable[[Call], None], *, tasks: BackgroundTasks | None = None) -> None:
        self._pbx = pbx
        self._floor = floor
        self._config = config
        self._on_change = on_change          # the engine records and re-paces
        self.waiting: list[Call] = []        # answered, no operator yet, oldest first
        self._deadlines: dict[int, asyncio.TimerHandle] = {}
        # Calls a recovery found answered or with an operator: when that happened is unknown, so their
        # hand-off gives no latency figure.
        self._answer_unseen: set[int] = set()
        self.latencies_s: list[float] = []   # answer → joined the operator's conference, loop time
        # The same in wall-clock time: under virtual time the loop clock stands still while the engine
        # and the simulator work, so this is the figure that shows what the processing costs.
        self.wall_latencies_s: list[float] = []
        self._answered_wall: dict[int, float] = {}
        self._tasks = tasks or BackgroundTasks()
        # With several Asterisk servers a Redirect cannot cross servers: only operators this accepts for a
        # call may take it (dialer/servers.py sets it; None: one server, everyone).
        self.reachable: Callable[[Call, FloorOperator], bool] | None = None

    def answered(self, call: Call, safe_harbor_s: float, routing: str = "longest_idle") -> None:
        self._answered_wall[call.attempt_id] = time.perf_counter()
        accept = partial(self.reachable, call) if self.reachable is not None else None
        operator = self._floor.choose(call.campaign_id, prefer=call.owner_operator, routing=routing, accept=accept)
        if operator is not None:
            self._send_to(call, operator)
            return
        self.waiting.append(call)
        loop = asyncio.get_running_loop()
        delay = max(0.0, safe_harbor_s - self._config.safe_harbor_margin_s)
        self._deadlines[call.attempt_id] = loop.call_later(delay, self._deadline, call)

    def operator_free(self, operator: FloorOperator) -> bool:
        """Give the longest-waiting answered call this operator may take. True if one was given."""
        for call in self.waiting:
            if (call.campaign_id in operator.campaigns and call.state is CallState.WAITING
                    and (call.owner_operator == operator.id or not self._floor.held_back(call.campaign_id))
                    and (self.reachable is None or self.reachable(call, operator))):
                self._forget(call)
                self._send_to(call, operator)
                return True
        return False

    def joined(self, call: Call, now: float) -> None:
        if call.connect(now):
            operator = self._floor.operators.get(call.operator_id or -1)
            if operator is not None:
                self._floor.set_state(operator, OperatorState.ON_CALL, now)
            started = self._answered_wall.pop(call.attempt_id, None)
            if call.attempt_id not in self._answer_unseen:
                if call.answered_at is not None:
                    self.latencies_s.append(now - call.answered_at)
                if started is not None:
                    self.wall_latencies_s.append(time.perf_counter() - started)
            self._on_change(call)

    def ended(self, call: Call) -> None:
        self._forget(call)
        self._answered_wall.pop(call.attempt_id, None)
        self._answer_unseen.discard(call.attempt_id)

    def answer_unseen(self, call: Call) -> None:
        """A recovery found this call answered: its hand-off latency is not measured."""
        self._answer_unseen.add(call.attempt_id)

    def _send_to(self, call: Call, operator: FloorOperator) -> None:
        loop = asyncio.get_running_loop()
        call.hand_off(operator.id)
        self._floor.take_call(operator, call.attempt_id, call.lead_id, loop.time())
        self._floor.set_state(operator, OperatorState.RESERVED, loop.time())
        self._redirect(call, self._config.handoff_context, operator.extension)

    def resend(self, call: Call, operator: FloorOperator | None) -> None:
        """The Redirect may not have reached Asterisk (link lost): send it again (a Redirect to where the
        channel already goes changes nothing)."""
        if call.state is CallState.HANDING_OFF and operator is not None:
            self._redirect(call, self._config.handoff_context, operator.extension)
        elif call.state is CallState.SAFE_HARBOR:
            self._redirect(call, self._config.safe_harbor_context, "s")

    def message_now(self, call: Call) -> None:
        """No waiting for this one (its answer time is unknown): the safe-harbor message at once."""
        handle = self._deadlines.pop(call.attempt_id, None)
        if handle is not None:
            handle.cancel()
        self._deadline(call)

    def _deadline(self, call: Call) -> None:
        self._deadlines.pop(call.attempt_id, None)
        if call.abandon():
            self._forget(call)
            log.info("attempt %s: no operator within the safe-harbor window; message played", call.attempt_id)
            self._on_change(call)
            self._redirect(call, self._config.safe_harbor_context, "s")

    def _redirect(self, call: Call, context: str, exten: str) -> None:
        """Sent now, in this loop pass (the AMI client writes it before returning); its answer is awaited
        by a task of its own."""
        try:
            sent = self._pbx.redirect(call.channel_id, context, exten)
        except PbxError as exc:
            self._refused(call, context, exc)
            return
        self._tasks.spawn(self._answered(call, context, sent), name=f"redirect {call.channel_id}")

    async def _answered(self, call: Call, context: str, sent: Awaitable[None]) -> None:
        try:
            await sent
        except PbxError as exc:
            self._refused(call, context, exc)

    def _refused(self, call: Call, context: str, exc: PbxError) -> None:
        # The customer is usually gone already; the Hangup event settles the call.
        log.info("attempt %s: Redirect to %s refused: %s", call.attempt_id, context, exc.message)

    def _forget(self, call: Call) -> None:
        if call in self.waiting:
            self.waiting.remove(call)
        handle = self._deadlines.pop(call.attempt_id, None)
        if handle is not None:
            handle.cancel()
