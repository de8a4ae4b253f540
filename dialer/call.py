"""One attempt while it is alive: the call's state machine.

``originating → (waiting → handing_off → connected | safe_harbor) → ended``. Every change of state goes
through ``TRANSITIONS`` (one table, read by ``_move``); a transition that does not apply returns False and
changes nothing, so an event seen twice (replay, reconnect) changes nothing the second time.

Outcome rules live here, in one place:

* A call that was never answered ends once Asterisk has said all it will say about it: the
  OriginateResponse (its Reason: 4 answered, 5 busy, 8 congestion, 3 no answer, 0/1 anything else) and
  the Hangup of each half of the channel. A real Asterisk sends them in one burst whose order is a race
  between its threads (tests/fixtures/asterisk/transcripts/faults/README.md): on a no-answer timeout the
  ``;1`` Hangup (cause 19) may come before the OriginateResponse, and no DialEnd comes at all; on busy and
  congestion the ``;1`` Hangup says cause 0 and only the far ``;2`` half carries 17 or 34. So each fact
  is kept from whichever event brings it, and the outcome is judged from all of them: Reason first, then
  DialEnd's DialStatus, then the far half's cause.
* An answered call that no operator took within the safe-harbor window is *abandoned*; one whose
  caller hung up first while waiting is *dropped* (and still counts as abandoned in the ledger).
* An Originate refused before any channel existed is *failed*; one never sent (no link, Asterisk
  shutting down) is *not_dialed*: the lead goes back as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ami.pbx import ChannelStatus, far_half
from pacing.dial_features import DialFeatures


class CallState(StrEnum):
    ORIGINATING = "originating"   # Originate sent, not answered yet (ringing)
    WAITING = "waiting"           # answered, no operator yet
    HANDING_OFF = "handing_off"   # Redirect into an operator's conference sent
    CONNECTED = "connected"       # joined the operator's conference
    SAFE_HARBOR = "safe_harbor"   # sent to the message: abandoned
    ENDED = "ended"


class Happening(StrEnum):
    """What the PBX (or the engine) says happened to the call."""
    ANSWERED = "answered"               # OriginateResponse success, DialerAnswered, or a conference join
    HANDED_OFF = "handed_off"           # the engine Redirected it to an operator
    JOINED = "joined"                   # it joined that operator's conference
    ABANDONED = "abandoned"             # the engine sent it to the safe-harbor message
    MESSAGE_PLAYED = "message_played"   # the dialplan sent it to the message by itself
    NEVER_ANSWERED = "never_answered"   # the Originate failed and every half of the channel is gone
    REFUSED = "refused"                 # Asterisk refused the Originate action: no channel was made
    NOT_DIALED = "not_dialed"           # never sent (no link, Asterisk shutting down)
    GONE = "gone"                       # the customer's channel hung up (or a recovery found it gone)


_S, _H = CallState, Happening
_LIVE = (_S.ORIGINATING, _S.WAITING, _S.HANDING_OFF, _S.CONNECTED, _S.SAFE_HARBOR)

# Every change of state a call may make: (state, what happened) → new state. Nothing sets ``state`` around it.
TRANSITIONS: dict[tuple[CallState, Happening], CallState] = {
    (_S.ORIGINATING, _H.ANSWERED): _S.WAITING,
    (_S.WAITING, _H.HANDED_OFF): _S.HANDING_OFF,
    (_S.HANDING_OFF, _H.JOINED): _S.CONNECTED,
    (_S.WAITING, _H.ABANDONED): _S.SAFE_HARBOR,
    (_S.ORIGINATING, _H.MESSAGE_PLAYED): _S.SAFE_HARBOR,
    (_S.WAITING, _H.MESSAGE_PLAYED): _S.SAFE_HARBOR,
    (_S.HANDING_OFF, _H.MESSAGE_PLAYED): _S.SAFE_HARBOR,
    (_S.ORIGINATING, _H.NEVER_ANSWERED): _S.ENDED,
    (_S.ORIGINATING, _H.REFUSED): _S.ENDED,
    (_S.ORIGINATING, _H.NOT_DIALED): _S.ENDED,
    **{(state, _H.GONE): _S.ENDED for state in _LIVE},
}

# The outcome of a call whose customer hung up, by the state it was in (ringing: see failure_outcome).
_GONE_OUTCOME = {
    _S.WAITING: "dropped",
    _S.HANDING_OFF: "dropped",
    _S.CONNECTED: "connected",
    _S.SAFE_HARBOR: "abandoned",
}

_REASON_OUTCOME = {5: "busy", 8: "congestion", 3: "no_answer"}
_DIAL_STATUS_OUTCOME = {
    "BUSY": "busy", "CONGESTION": "congestion", "NOANSWER": "no_answer", "CANCEL": "no_answer",
    "CHANUNAVAIL": "failed",
}
# Q.850 causes that name the outcome by themselves (a trunk that sends no DialEnd, a Reason 0).
_CAUSE_OUTCOME = {17: "busy", 34: "congestion", 18: "no_answer", 19: "no_answer"}

NEAR, FAR = "near", "far"   # the two halves of a Local channel: ``;1`` (ChannelId) and ``;2`` (``{id}-2``)
_CHANNEL_PREFIX = "attempt-"


def channel_id_of(attempt_id: int) -> str:
    """The ChannelId the engine gives an attempt's Originate: how every event of the call names it, and how
    a recovery finds the call again on the PBX."""
    return f"{_CHANNEL_PREFIX}{attempt_id}"


def attempt_of_status(status: ChannelStatus | None) -> int | None:
    """The attempt a channel belongs to: its ATTEMPT_ID variable, else its ChannelId."""
    if status is None:
        return None
    value = status.variables.get("ATTEMPT_ID") or ""
    if value.isdigit():
        return int(value)
    return attempt_of_channel(status.channel_id)


def attempt_of_channel(channel_id: str) -> int | None:
    """The attempt a channel id names (``attempt-<id>``, not its far half), else None."""
    number = channel_id.removeprefix(_CHANNEL_PREFIX)
    if number == channel_id or not number.isdecimal():
        return None
    return int(number)


def failure_outcome(reason: int, dial_status: str | None, cause: int | None = None) -> str:
    """A call never answered: the Reason when it says something, else DialEnd's status, else the cause."""
    if reason in _REASON_OUTCOME:
        return _REASON_OUTCOME[reason]
    if dial_status and dial_status in _DIAL_STATUS_OUTCOME:
        return _DIAL_STATUS_OUTCOME[dial_status]
    if cause in _CAUSE_OUTCOME:
        return _CAUSE_OUTCOME[cause]
    return "failed"


class CallWatcher(Protocol):
    """Who hears every transition of a followed call (the engine's floor, ``Floor.follow``)."""

    def call_moved(self, call: Call, previous: CallState | None) -> None: ...


@dataclass(slots=True)
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
    coded: bool = False                   # the operator saved its code while it went on: no wrap-up
    missed_window: bool = False           # reached its operator, but after the dialplan's safe-harbor deadline
    sent: bool = False                    # its Originate went out: a channel may exist (reconcile asks)
    end_unseen: bool = False              # a recovery found its channel gone: how it ended, nobody heard
    answer_counted: bool = False          # this engine counted its answer (dialer/counts.py)
    ledgered: bool = False                # its answer is in the abandonment ledger (dialer/call_events.py)
    state: CallState = CallState.ORIGINATING
    answered_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    operator_id: int | None = None
    dial_status: str | None = None
    originate_reason: int | None = None
    near_cause: int | None = None         # Hangup of ;1 (the channel the Originate made)
    far_cause: int | None = None          # Hangup of ;2 (the callee's side of a Local channel)
    outcome: str | None = None
    # Halves of the channel still to hang up before a failed Originate is over. Empty (a call re-attached
    # by a recovery): the OriginateResponse alone ends it.
    open_legs: set[str] = field(default_factory=set)
    events: list[str] = field(default_factory=list)
    # The floor that keeps the campaign's live figures from this call's transitions (None: not followed).
    watcher: CallWatcher | None = field(default=None, repr=False, compare=False)
    # what pacing was told of the dial, and the chance of a live answer it gave it (dialer/answer_chances.py);
    # None for a call re-attached after a restart or dialed by hand
    features: DialFeatures | None = None
    answer_p: float | None = None

    @property
    def alive(self) -> bool:
        return self.state is not CallState.ENDED

    @property
    def ringing(self) -> bool:
        return self.state is CallState.ORIGINATING

    @property
    def hangup_cause(self) -> int | None:
        """The far half's cause says more than ours (busy 17 and congestion 34 are only there), unless it
        says nothing (0) and ours does."""
        if self.far_cause is not None and (self.far_cause != 0 or not self.near_cause):
            return self.far_cause
        return self.near_cause

    def leg_of(self, channel_id: str) -> str | None:
        """Which half of this call's channel ``channel_id`` names, if any."""
        if channel_id == self.channel_id:
            return NEAR
        return FAR if channel_id == far_half(self.channel_id) else None

    def expect_legs(self, channel: str) -> None:
        """The Originate about to go out dials ``channel``: a Local channel has two halves to hear of."""
        if self.state is CallState.ORIGINATING and not self.sent:
            self.open_legs = {NEAR, FAR} if channel.lower().startswith("local/") else {NEAR}

    # ---- transitions -----------------------------------------------------------------------------

    def answer(self, now: float) -> bool:
        if not self._move(Happening.ANSWERED):
            return False
        self.answered_at = now
        return True

    def hand_off(self, operator_id: int) -> bool:
        if not self._move(Happening.HANDED_OFF):
            return False
        self.operator_id = operator_id
        return True

    def connect(self, now: float) -> bool:
        if not self._move(Happening.JOINED):
            return False
        self.connected_at = now
        return True

    def abandon(self) -> bool:
        return self._move(Happening.ABANDONED)

    def heard_message(self, now: float) -> bool:
        """The PBX played the safe-harbor message by itself (the dialplan's fallback when no Redirect came
        in time: engine down, link lost), whatever the engine believed the call was doing: abandoned."""
        if not self._move(Happening.MESSAGE_PLAYED):
            return False
        if self.answered_at is None:
            self.answered_at = now
        self.operator_id = None
        return True

    def dial_ended(self, status: str) -> None:
        """DialEnd: its status refines Reason 0 (a callee who hung up before answering). Kept whenever it
        comes: Asterisk may send it before or after the OriginateResponse."""
        self.dial_status = status

    def heard_response(self, reason: int) -> None:
        """OriginateResponse's Reason (4 when answered), kept for the attempt row whenever it comes."""
        if self.originate_reason is None:
            self.originate_reason = reason

    def originate_failed(self, now: float, reason: int) -> bool:
        """OriginateResponse failure: never answered. Over once every half of the channel is gone too."""
        self.heard_response(reason)
        return self._ringing_over(now)

    def leg_hung_up(self, now: float, leg: str, cause: int) -> bool:
        """A Hangup of one half of the channel. While ringing it is one fact among the burst (see the
        module's docstring); after the answer, the end of ``;1`` is the end of the call."""
        if leg == FAR:
            if self.far_cause is None:
                self.far_cause = cause
        elif self.near_cause is None:
            self.near_cause = cause
        self.open_legs.discard(leg)
        if self.state is CallState.ORIGINATING:
            return self._ringing_over(now)
        return leg == NEAR and self._end_gone(now)

    def hang_up(self, now: float, cause: int) -> bool:
        """The customer's channel is gone, whatever else may still come (a recovery found it gone)."""
        if self.near_cause is None:
            self.near_cause = cause
        if not self._end_gone(now):
            return False
        self.end_unseen = True
        return True

    def refused(self, now: float) -> bool:
        """Asterisk refused the Originate action itself: no channel, no event will follow."""
        return self._move(Happening.REFUSED, now, "failed")

    def not_dialed(self, now: float) -> bool:
        """The Originate was never carried out (no link; Asterisk shutting down): the lead goes back."""
        return self._move(Happening.NOT_DIALED, now, "not_dialed")

    def _ringing_over(self, now: float) -> bool:
        if self.state is not CallState.ORIGINATING or self.originate_reason is None or self.open_legs:
            return False
        outcome = failure_outcome(self.originate_reason, self.dial_status, self.hangup_cause)
        return self._move(Happening.NEVER_ANSWERED, now, outcome)

    def _end_gone(self, now: float) -> bool:
        outcome = _GONE_OUTCOME.get(self.state) or failure_outcome(
            self.originate_reason or 0, self.dial_status, self.hangup_cause)
        return self._move(Happening.GONE, now, outcome)

    def _move(self, happening: Happening, now: float | None = None, outcome: str | None = None) -> bool:
        new = TRANSITIONS.get((self.state, happening))
        if new is None:
            return False
        previous, self.state = self.state, new
        if new is CallState.ENDED:
            self.ended_at = now
            self.outcome = outcome
        if self.watcher is not None:
            self.watcher.call_moved(self, previous)
        return True

    @property
    def abandoned(self) -> bool:
        """Counted as abandoned in the ledger. A caller who hangs up while waiting was not connected within
        the window either, so a dropped call counts too: the ledger may over-count, never under-count."""
        return self.outcome in ("abandoned", "dropped") or self.missed_window
