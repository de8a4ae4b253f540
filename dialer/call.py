"""One attempt while it is alive: the call's state machine.

``claimed → originating → (answered → waiting → connected) → ended``. Transitions are methods that
return whether anything changed, so an event seen twice (replay, reconnect) changes nothing the second
time. Outcome rules live here, in one place:

* Asterisk's OriginateResponse Reason: 4 answered, 5 busy, 8 congestion, 3 no answer; 0/1 other —
  which includes a callee who hangs up before answering, so DialEnd's DialStatus refines it.
* An answered call that no operator took within the safe-harbor window is *abandoned*; one whose
  caller hung up first while waiting is *dropped* (and still counts as abandoned in the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class CallState(StrEnum):
    ORIGINATING = "originating"   # Originate sent, not answered yet (ringing)
    WAITING = "waiting"           # answered, no operator yet
    HANDING_OFF = "handing_off"   # Redirect into an operator's conference sent
    CONNECTED = "connected"       # joined the operator's conference
    SAFE_HARBOR = "safe_harbor"   # sent to the message: abandoned
    ENDED = "ended"


_REASON_OUTCOME = {5: "busy", 8: "congestion", 3: "no_answer"}
_DIAL_STATUS_OUTCOME = {
    "BUSY": "busy", "CONGESTION": "congestion", "NOANSWER": "no_answer", "CANCEL": "no_answer",
    "CHANUNAVAIL": "failed",
}


def failure_outcome(reason: int, dial_status: str | None) -> str:
    if reason in _REASON_OUTCOME:
        return _REASON_OUTCOME[reason]
    if dial_status and dial_status in _DIAL_STATUS_OUTCOME:
        return _DIAL_STATUS_OUTCOME[dial_status]
    return "failed"


@dataclass
class Call:
    attempt_id: int
    channel_id: str
    campaign_id: int
    lead_id: int
    phone: str
    originated_at: float                  # loop time
    owner_operator: int | None = None     # personal callback / sticky routing wish
    preassigned: int | None = None        # manual call: the operator who dialed it
    caller_id: str | None = None          # what the callee sees (local presence may pick one per area)
    operator_released: bool = False       # the operator ended the call (the customer may still rate it)
    missed_window: bool = False           # reached its operator, but after the dialplan's safe-harbor deadline
    sent: bool = False                    # its Originate went out: a channel may exist (reconcile asks)
    state: CallState = CallState.ORIGINATING
    answered_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    operator_id: int | None = None
    dial_status: str | None = None
    originate_reason: int | None = None
    hangup_cause: int | None = None
    outcome: str | None = None
    events: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.state is not CallState.ENDED

    @property
    def ringing(self) -> bool:
        return self.state is CallState.ORIGINATING

    def answer(self, now: float) -> bool:
        if self.state is not CallState.ORIGINATING:
            return False
        self.state = CallState.WAITING
        self.answered_at = now
        return True

    def hand_off(self, operator_id: int) -> bool:
        if self.state is not CallState.WAITING:
            return False
        self.state = CallState.HANDING_OFF
        self.operator_id = operator_id
        return True

    def connect(self, now: float) -> bool:
        if self.state is not CallState.HANDING_OFF:
            return False
        self.state = CallState.CONNECTED
        self.connected_at = now
        return True

    def abandon(self) -> bool:
        if self.state is not CallState.WAITING:
            return False
        self.state = CallState.SAFE_HARBOR
        return True

    def heard_message(self, now: float) -> bool:
        """The PBX played the safe-harbor message by itself (the dialplan's fallback when no Redirect came
        in time: engine down, link lost), whatever the engine believed the call was doing: abandoned."""
        if self.state not in (CallState.ORIGINATING, CallState.WAITING, CallState.HANDING_OFF):
            return False
        if self.answered_at is None:
            self.answered_at = now
        self.operator_id = None
        self.state = CallState.SAFE_HARBOR
        return True

    def fail(self, now: float, reason: int) -> bool:
        """OriginateResponse failure: the call never got answered."""
        self.originate_reason = reason
        if self.state is not CallState.ORIGINATING:
            return False
        return self._end(now, failure_outcome(reason, self.dial_status))

    def hang_up(self, now: float, cause: int) -> bool:
        """The customer channel is gone."""
        if self.hangup_cause is None:
            self.hangup_cause = cause
        if self.state is CallState.ENDED:
            return False
        outcome = {
            CallState.ORIGINATING: failure_outcome(self.originate_reason or 0, self.dial_status),
            CallState.WAITING: "dropped",
            CallState.HANDING_OFF: "dropped",
            CallState.CONNECTED: "connected",
            CallState.SAFE_HARBOR: "abandoned",
        }[self.state]
        return self._end(now, outcome)

    def _end(self, now: float, outcome: str) -> bool:
        self.state = CallState.ENDED
        self.ended_at = now
        self.outcome = outcome
        return True

    @property
    def abandoned(self) -> bool:
        """Counted as abandoned in the ledger. A caller who hangs up while waiting was not connected within
        the window either, so a dropped call counts too: the ledger may over-count, never under-count."""
        return self.outcome in ("abandoned", "dropped") or self.missed_window
