"""The operators on the floor, in memory: who is free, who talks, who wraps up.

The hand-off must take milliseconds, so the choice of an operator never waits for the database; the
store is told afterwards (see ``recorder``). An operator may work several campaigns: ``campaigns`` is a
set. Campaigns that share operators should pace as one campaign group (``dialer/groups/runner.py``), so a
free operator is counted once, by the group; a group may keep some of its operators free (``reserve``).

An operator is free for a hand-off only while their phone is known to sit in their conference
(``phone_up``, kept by ``dialer/phones.py``): a customer Redirected into an empty conference would talk to
nobody and be recorded as connected. So ``ready`` without the phone is never a state: it waits as
``LOGGING_IN`` (the phone being called) until the phone joins.

An operator's state moves only through ``TRANSITIONS`` (one table, read by ``Floor.set_state``, in the
manner of the call's table in ``dialer/call.py``): a move it does not list is refused, logged, and changes
nothing. Everything the pacing and the hand-off read of an operator (state, phone, handle start,
campaigns) is written here only, so the floor's sections (``dialer/sections.py``) follow every change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from dialer.call import Call, CallState
from dialer.sections import ROUTING_KEYS, Section

log = logging.getLogger(__name__)


class OperatorState(StrEnum):
    OFFLINE = "logged_out"
    LOGGING_IN = "logged_in"    # phone being called into its conference
    READY = "ready"
    RESERVED = "reserved"       # chosen for a call, Redirect on its way (shown as on_call in the store)
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


_O = OperatorState

# Every change of state an operator may make: (state, new state) → what makes it. Nothing sets ``state``
# around it. "Ready" without the phone in the conference is entered as LOGGING_IN (see the docstring), so
# each move to READY has its twin to LOGGING_IN. Logging out is possible from every state.
TRANSITIONS: dict[tuple[OperatorState, OperatorState], str] = {
    (_O.OFFLINE, _O.LOGGING_IN): "logs in: the phone is called into the conference",
    (_O.OFFLINE, _O.READY): "a phone still in its conference is adopted (restart, takeover)",
    (_O.LOGGING_IN, _O.READY): "the phone joined the conference",
    (_O.READY, _O.LOGGING_IN): "the phone left the conference: called back",
    (_O.READY, _O.RESERVED): "chosen for an answered call, or dials one",
    (_O.READY, _O.ON_CALL): "found talking in the conference by a recovery",
    (_O.READY, _O.PAUSED): "pauses",
    (_O.PAUSED, _O.READY): "ready again",
    (_O.PAUSED, _O.LOGGING_IN): "ready again, the phone not in the conference",
    (_O.PAUSED, _O.RESERVED): "dials a call while paused",
    (_O.RESERVED, _O.ON_CALL): "the customer joined the conference",
    (_O.RESERVED, _O.READY): "the call ended, or went to the message, before it joined",
    (_O.RESERVED, _O.LOGGING_IN): "the same, the phone not in the conference",
    (_O.RESERVED, _O.PAUSED): "a call dialed while paused ended before it joined",
    (_O.ON_CALL, _O.WRAP_UP): "the conversation ended",
    (_O.WRAP_UP, _O.READY): "the wrap-up is done",
    (_O.WRAP_UP, _O.LOGGING_IN): "the wrap-up is done, the phone not in the conference",
    (_O.WRAP_UP, _O.PAUSED): "pauses after the call",
    **{(state, _O.OFFLINE): "logs out (a call is hung up), or the phone never came" for state in _O
       if state is not _O.OFFLINE},
}

ROUTING_MODES = tuple(ROUTING_KEYS)
STORED_STATE = {OperatorState.RESERVED: "on_call"}
BUSY_STATES = (OperatorState.RESERVED, OperatorState.ON_CALL, OperatorState.WRAP_UP)


@dataclass(slots=True)
class FloorOperator:
    id: int
    name: str
    extension: str
    campaigns: set[int]                 # changed only by ``Floor.assign``
    priority: int = 0                   # fixed while on the floor (routing order)
    simulated: bool = False
    state: OperatorState = OperatorState.OFFLINE
    since: float = 0.0                  # loop time of the last state change
    attempt_id: int | None = None       # the call it is on / wrapping up
    lead_id: int | None = None          # that call's lead: the call leaves ``Engine.calls`` before its wrap-up
    talk_started: float | None = None   # loop time the current handle (talk + wrap) began
    calls: int = 0
    talk_s: float = 0.0
    last_talk_s: float = 0.0
    pause_reason: str | None = None
    paused_before_call: bool = False    # dialed by hand while paused: back to PAUSED after the call, not READY
    phone_channel_id: str | None = None
    phone_up: bool = False              # the phone sits in the conference, as far as the engine knows
    logged_out_why: str | None = None   # why the engine logged the operator out (their console shows it)
    wrap_up_ran_out: int | None = None  # the attempt whose wrap-up the timer ended with no code (console says)
    time_in: dict[OperatorState, float] = field(default_factory=dict)   # seconds spent per state
    seat: int = -1                      # order of arrival on the floor (``Floor.add``)
    stamp: int = 0                      # changes whenever the operator's free entry changes (sections)

    def occupancy(self, now: float) -> float:
        """Share of logged-in time spent on calls and their wrap-up."""
        busy, logged = self.busy_and_logged_s(now)
        return busy / logged if logged > 0 else 0.0

    def busy_and_logged_s(self, now: float) -> tuple[float, float]:
        """Seconds on calls and wrap-up, and seconds logged in (a team's occupancy sums these)."""
        spent = dict(self.time_in)
        spent[self.state] = spent.get(self.state, 0.0) + (now - self.since)
        busy = sum(spent.get(s, 0.0) for s in BUSY_STATES)
        return busy, busy + spent.get(OperatorState.READY, 0.0) + spent.get(OperatorState.PAUSED, 0.0)

    @property
    def conference(self) -> str:
        return f"op{self.extension}"

    @property
    def free(self) -> bool:
        """May take a call now: ready, with the phone in the conference."""
        return self.state is OperatorState.READY and self.phone_up

    @property
    def handle_start(self) -> float | None:
        """When the busy operator's current handle (talk + wrap-up) began; None when not busy."""
        if self.state not in BUSY_STATES:
            return None
        return self.talk_started if self.talk_started is not None else self.since


StateListener = Callable[[FloorOperator, OperatorState, float], None]


@dataclass(frozen=True)
class PoolReserve:
    """A campaign group's pool (its members' operators) and how many of them stay free for inbound or
    callbacks: a dialed call is handed to a pool operator only while more than ``count`` are free."""
    campaigns: frozenset[int]
    count: int


_POOLS_KEPT = 32     # pools asked for (groups, reserves) whose sections are kept up to date


@dataclass
class Floor:
    """The operators and, per campaign and per pool, the live figures the pacing and the hand-off read
    (``dialer/sections.py``): the one place an operator's state moves and a followed call's moves are heard."""

    operators: dict[int, FloorOperator] = field(default_factory=dict)
    _listeners: list[StateListener] = field(default_factory=list)
    reserves: dict[int, PoolReserve] = field(default_factory=dict)   # campaign id → its group's reserve
    _campaigns: dict[int, Section[FloorOperator]] = field(default_factory=dict)     # campaign id → its section
    _pools: dict[frozenset[int], Section[FloorOperator]] = field(default_factory=dict)
    _extensions: dict[str, FloorOperator] = field(default_factory=dict)
    _seated: list[FloorOperator] = field(default_factory=list)       # by seat
    _entries: dict[int, tuple[bool, float | None]] = field(default_factory=dict)   # id → (free, handle start)

    # ---- operators: the state machine and the few writes beside it -----------------------------------

    def add(self, operator: FloorOperator) -> None:
        replaced = self.operators.get(operator.id)
        if replaced is not None:
            self._unindex(replaced)
            operator.seat = replaced.seat
            self._seated[operator.seat] = operator
        else:
            operator.seat = len(self._seated)
            self._seated.append(operator)
        self.operators[operator.id] = operator
        self._extensions.setdefault(operator.extension, operator)
        self._refresh(operator)

    def subscribe(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: StateListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def by_extension(self, extension: str) -> FloorOperator | None:
        operator = self._extensions.get(extension)
        if operator is not None and self.operators.get(operator.id) is operator:
            return operator
        return next((o for o in self.operators.values() if o.extension == extension), None)

    def set_state(self, operator: FloorOperator, state: OperatorState, now: float) -> bool:
        """Move the operator by ``TRANSITIONS``; False (and nothing changed) when it does not apply."""
        if state is OperatorState.READY and not operator.phone_up:
            state = OperatorState.LOGGING_IN     # ready once the phone is back (dialer/phones.py)
        if operator.state is state:
            return False
        previous = operator.state
        if (previous, state) not in TRANSITIONS:
            log.error("operator %s: no move from %s to %s; ignored", operator.name, previous.value, state.value)
            return False
        operator.time_in[previous] = operator.time_in.get(previous, 0.0) + (now - operator.since)
        operator.state = state
        operator.since = now
        self._refresh(operator)
        for listener in self._listeners:
            listener(operator, previous, now)
        return True

    def set_phone(self, operator: FloorOperator, up: bool) -> None:
        """Whether the operator's phone sits in the conference (``dialer/phones.py``)."""
        operator.phone_up = up
        self._refresh(operator)

    def take_call(self, operator: FloorOperator, attempt_id: int, lead_id: int, now: float) -> None:
        """The operator's handle of this call begins now (before the move to RESERVED)."""
        operator.attempt_id, operator.lead_id = attempt_id, lead_id
        operator.paused_before_call = False     # a manual dial from a pause sets it right after
        self.handle_from(operator, now)

    def handle_from(self, operator: FloorOperator, started: float) -> None:
        """The operator's current handle began at ``started`` (a recovery learns the real moment)."""
        operator.talk_started = started
        self._refresh(operator)

    def drop_call(self, operator: FloorOperator) -> None:
        """The operator has no call any more (before the move out of it)."""
        operator.attempt_id = operator.lead_id = operator.talk_started = None
        self._refresh(operator)

    def after_call(self, operator: FloorOperator, now: float) -> None:
        """The operator's call and its wrap-up are over: back to the state they took it from (a call
        dialed by hand while paused leaves them paused, so no predictive call comes unasked)."""
        self.drop_call(operator)
        paused, operator.paused_before_call = operator.paused_before_call, False
        self.set_state(operator, OperatorState.PAUSED if paused else OperatorState.READY, now)

    def assign(self, operator: FloorOperator, campaign_id: int) -> None:
        """The operator works this campaign too."""
        if campaign_id in operator.campaigns:
            return
        self._unindex(operator)
        operator.campaigns.add(campaign_id)
        self._refresh(operator)

    # ---- calls: their transitions (``Call._move``) keep the campaigns' ringing and waiting figures ------

    def follow(self, call: Call) -> None:
        """The engine follows this call from now on: its transitions keep the floor's figures."""
        call.watcher = self
        self.call_moved(call, None)

    def call_moved(self, call: Call, previous: CallState | None) -> None:
        section = self.section(call.campaign_id)
        if previous is not None:
            section.by_state[previous] -= 1
        if call.state is not CallState.ENDED:
            section.by_state[call.state] += 1
        if previous is CallState.ORIGINATING:
            section.ringing.drop(call.channel_id)
        elif previous is CallState.WAITING:
            section.waiting -= 1
        if call.state is CallState.ORIGINATING:
            section.ringing.put(call.channel_id, call.originated_at, call.answer_p)
        elif call.state is CallState.WAITING:
            section.waiting += 1

    # ---- what the pacing and the hand-off read -----------------------------------------------------

    def section(self, campaign_id: int) -> Section[FloorOperator]:
        """The campaign's live figures (``dialer/sections.py``)."""
        section = self._campaigns.get(campaign_id)
        if section is None:
            section = self._campaigns[campaign_id] = Section()
        return section

    def pool(self, campaigns: frozenset[int]) -> Section[FloorOperator]:
        """The live operators' figures of the pool of these campaigns (an operator counted once): built the
        first time it is asked for, kept by transitions after."""
        section = self._pools.get(campaigns)
        if section is None:
            if len(self._pools) >= _POOLS_KEPT:
                self._pools.pop(next(iter(self._pools)))
            section = self._pools[campaigns] = Section()
            for operator in self.operators.values():
                if not operator.campaigns.isdisjoint(campaigns):
                    self._index(operator, section, *self._entries.get(operator.id, (False, None)))
        return section

    def pools(self) -> list[tuple[frozenset[int], Section[FloorOperator]]]:
        """The pools whose sections are kept (each group's, each reserve's)."""
        return list(self._pools.items())

    def free_for(self, campaign_id: int) -> list[FloorOperator]:
        return sorted(self.section(campaign_id).free.operators(), key=lambda o: o.seat)

    def busy_for(self, campaign_id: int) -> list[FloorOperator]:
        return [self._seated[seat] for seat in self.section(campaign_id).busy.seats]

    def held_back(self, campaign_id: int) -> bool:
        """True when the campaign's pool has no more free operators than it keeps in reserve."""
        reserve = self.reserves.get(campaign_id)
        if reserve is None or reserve.count <= 0:
            return False
        return len(self.pool(reserve.campaigns).free) <= reserve.count

    def choose(self, campaign_id: int, *, prefer: int | None = None, routing: str = "longest_idle",
               accept: Callable[[FloorOperator], bool] | None = None) -> FloorOperator | None:
        """Who takes an answered call: the preferred operator (the owner of a personal callback, or who
        last talked to this lead) when free; else by the campaign's routing — the longest idle (fairest,
        the default), the highest priority first (experienced operators take the calls), or the lowest
        first (newcomers get the practice); ties go to the longest idle. Only the preferred operator may
        take it when the campaign's group is down to its reserved operators. ``accept``: only operators it
        accepts (one who can be reached from the call's Asterisk server, see dialer/servers.py)."""
        free = self.section(campaign_id).free
        if prefer is not None and prefer in free:
            operator = self.operators[prefer]
            if accept is None or accept(operator):
                return operator
        if self.held_back(campaign_id):
            return None
        return free.first(routing if routing in ROUTING_KEYS else "longest_idle", accept)

    # ---- inside ------------------------------------------------------------------------------------

    def _sections_of(self, operator: FloorOperator) -> Iterator[Section[FloorOperator]]:
        for campaign_id in operator.campaigns:
            yield self.section(campaign_id)
        for campaigns, section in self._pools.items():
            if not operator.campaigns.isdisjoint(campaigns):
                yield section

    def _refresh(self, operator: FloorOperator) -> None:
        """Bring the operator's entries in its sections in line with the operator (O(log n) per section)."""
        if self.operators.get(operator.id) is not operator:
            return                               # not on this floor (yet)
        entry = (operator.free, operator.handle_start)
        if self._entries.get(operator.id) == entry:
            return
        self._unindex(operator)
        if entry[0]:
            operator.stamp += 1
        self._entries[operator.id] = entry
        for section in self._sections_of(operator):
            self._index(operator, section, *entry)

    def _index(self, operator: FloorOperator, section: Section[FloorOperator], free: bool, start: float | None) -> None:
        if free:
            section.free.add(operator, operator.stamp)
        if start is not None:
            section.busy.put(operator.seat, start)

    def _unindex(self, operator: FloorOperator) -> None:
        free, start = self._entries.pop(operator.id, (False, None))
        for section in self._sections_of(operator):
            if free:
                section.free.remove(operator)
            if start is not None:
                section.busy.drop(operator.seat)

