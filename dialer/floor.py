"""The operators on the floor, in memory: who is free, who talks, who wraps up.

The hand-off must take milliseconds, so the choice of an operator never waits for the database; the
store is told afterwards (see ``recorder``). An operator may work several campaigns: ``campaigns`` is a
set. Campaigns that share operators should pace as one campaign group (``dialer/groups/runner.py``), so a
free operator is counted once, by the group; a group may keep some of its operators free (``reserve``).

An operator is free for a hand-off only while their phone is known to sit in their conference
(``phone_up``, kept by ``dialer/phones.py``): a customer Redirected into an empty conference would talk to
nobody and be recorded as connected. So ``ready`` without the phone is never a state: it waits as
``LOGGING_IN`` (the phone being called) until the phone joins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class OperatorState(StrEnum):
    OFFLINE = "logged_out"
    LOGGING_IN = "logged_in"    # phone being called into its conference
    READY = "ready"
    RESERVED = "reserved"       # chosen for a call, Redirect on its way (shown as on_call in the store)
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


ROUTING_MODES = ("longest_idle", "experienced_first", "newcomers_first")
STORED_STATE = {OperatorState.RESERVED: "on_call"}
BUSY_STATES = (OperatorState.RESERVED, OperatorState.ON_CALL, OperatorState.WRAP_UP)


@dataclass(slots=True)
class FloorOperator:
    id: int
    name: str
    extension: str
    campaigns: set[int]
    priority: int = 0
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
    phone_channel_id: str | None = None
    phone_up: bool = False              # the phone sits in the conference, as far as the engine knows
    logged_out_why: str | None = None   # why the engine logged the operator out (their console shows it)
    time_in: dict[OperatorState, float] = field(default_factory=dict)   # seconds spent per state

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


StateListener = Callable[[FloorOperator, OperatorState, float], None]


@dataclass(frozen=True)
class PoolReserve:
    """A campaign group's pool (its members' operators) and how many of them stay free for inbound or
    callbacks: a dialed call is handed to a pool operator only while more than ``count`` are free."""
    campaigns: frozenset[int]
    count: int


@dataclass
class Floor:
    operators: dict[int, FloorOperator] = field(default_factory=dict)
    _listeners: list[StateListener] = field(default_factory=list)
    reserves: dict[int, PoolReserve] = field(default_factory=dict)   # campaign id → its group's reserve

    def add(self, operator: FloorOperator) -> None:
        self.operators[operator.id] = operator

    def subscribe(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: StateListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def by_extension(self, extension: str) -> FloorOperator | None:
        return next((o for o in self.operators.values() if o.extension == extension), None)

    def set_state(self, operator: FloorOperator, state: OperatorState, now: float) -> None:
        if state is OperatorState.READY and not operator.phone_up:
            state = OperatorState.LOGGING_IN     # ready once the phone is back (dialer/phones.py)
        if operator.state is state:
            return
        previous = operator.state
        operator.time_in[previous] = operator.time_in.get(previous, 0.0) + (now - operator.since)
        operator.state = state
        operator.since = now
        for listener in self._listeners:
            listener(operator, previous, now)

    def free_for(self, campaign_id: int) -> list[FloorOperator]:
        return [o for o in self.operators.values()
                if o.free and campaign_id in o.campaigns]

    def held_back(self, campaign_id: int) -> bool:
        """True when the campaign's pool has no more free operators than it keeps in reserve."""
        reserve = self.reserves.get(campaign_id)
        if reserve is None or reserve.count <= 0:
            return False
        free = sum(1 for o in self.operators.values()
                   if o.free and not o.campaigns.isdisjoint(reserve.campaigns))
        return free <= reserve.count

    def busy_for(self, campaign_id: int) -> list[FloorOperator]:
        return [o for o in self.operators.values() if o.state in BUSY_STATES and campaign_id in o.campaigns]

    def choose(self, campaign_id: int, *, prefer: int | None = None, routing: str = "longest_idle",
               accept: Callable[[FloorOperator], bool] | None = None) -> FloorOperator | None:
        """Who takes an answered call: the preferred operator (the owner of a personal callback, or who
        last talked to this lead) when free; else by the campaign's routing — the longest idle (fairest,
        the default), the highest priority first (experienced operators take the calls), or the lowest
        first (newcomers get the practice); ties go to the longest idle. Only the preferred operator may
        take it when the campaign's group is down to its reserved operators. ``accept``: only operators it
        accepts (one who can be reached from the call's Asterisk server, see dialer/servers.py)."""
        free = [o for o in self.free_for(campaign_id) if accept is None or accept(o)]
        if not free:
            return None
        if prefer is not None:
            for operator in free:
                if operator.id == prefer:
                    return operator
        if self.held_back(campaign_id):
            return None
        if routing == "experienced_first":
            return min(free, key=lambda o: (-o.priority, o.since, o.id))
        if routing == "newcomers_first":
            return min(free, key=lambda o: (o.priority, o.since, o.id))
        return min(free, key=lambda o: (o.since, -o.priority, o.id))
