"""A section of the floor: one campaign's (or one campaign group pool's) live figures, kept by transitions.

Every pacing decision and every hand-off reads these figures, many times a second with thousands of
operators and calls, so they are never rebuilt by walking the floor: the call and operator state machines
(``Floor.call_moved``, ``Floor.set_state`` and the few writes beside it, all in ``dialer/floor.py``) update
them as each transition happens, in O(1) or O(log n), and a decision only reads them.

* ``ringing``: the start (loop time) and chance of a live answer of each call of the campaign still
  ringing, in the order the engine began to follow them — the order the calls' elapsed ring times have
  always reached the policy in —, kept as arrays the policy reads in one pass (``dialer/ringing.py``).
* ``waiting``: answered calls with no operator yet; ``by_state``: the calls followed and not ended, by state
  (what the picture shows per campaign every second).
* ``busy``: each busy operator's handle start, in the operators' order on the floor (``seat``), so the
  policy and the estimators see the same elapsed handle times in the same order as before (their sums
  are then the same to the last bit, and a simulated day stays the same day).
* ``free``: the free operators, in each routing's order (``Roster``).

``dialer/floor_check.py`` rebuilds all of it from the calls and operators and compares (tests, and
``DIALER_CHECK_FLOOR=1``).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import numpy as np

from dialer.ringing import Ringing


class Routed(Protocol):
    """What the routing rules read of an operator (``dialer.floor.Op``)."""

    @property
    def id(self) -> int: ...
    @property
    def since(self) -> float: ...
    @property
    def priority(self) -> int: ...


Op = TypeVar("Op", bound=Routed)
RoutingKey = Callable[[Routed], tuple[float, ...]]

# The routing rules' orders (``Floor.choose``); ties always go to the longest idle, then the lowest id.
ROUTING_KEYS: dict[str, RoutingKey] = {
    "longest_idle": lambda o: (o.since, -o.priority, o.id),
    "experienced_first": lambda o: (-o.priority, o.since, o.id),
    "newcomers_first": lambda o: (o.priority, o.since, o.id),
}


class Roster(Generic[Op]):
    """The free operators of a section, and per routing rule a heap of them in that rule's order.

    A heap is built the first time its rule is asked for, then kept: an operator who becomes free is pushed
    (O(log n)); one who stops being free is only forgotten by the members (O(1)), and its stale entries are
    dropped when they come to the top, or all at once when stale entries outnumber live ones. An entry
    whose key no longer matches its operator (a priority changed) is pushed again with the new key."""

    __slots__ = ("_heaps", "_members")

    def __init__(self) -> None:
        self._members: dict[int, tuple[Op, int]] = {}   # operator id → (operator, stamp)
        self._heaps: dict[str, list[tuple[tuple[float, ...], int, Op]]] = {}

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, operator_id: int) -> bool:
        return operator_id in self._members

    def operators(self) -> list[Op]:
        return [operator for operator, _ in self._members.values()]

    def add(self, operator: Op, stamp: int) -> None:
        self._members[operator.id] = (operator, stamp)
        for routing, heap in self._heaps.items():
            heapq.heappush(heap, (ROUTING_KEYS[routing](operator), stamp, operator))
            if len(heap) > 2 * len(self._members) + 64:
                self._heaps[routing] = self._heap(routing)

    def remove(self, operator: Op) -> None:
        self._members.pop(operator.id, None)

    def first(self, routing: str, accept: Callable[[Op], bool] | None = None) -> Op | None:
        """The first free operator in the routing's order that ``accept`` takes (None: any)."""
        heap = self._heaps.get(routing)
        if heap is None:
            heap = self._heaps[routing] = self._heap(routing)
        key_of = ROUTING_KEYS[routing]
        passed: list[tuple[tuple[float, ...], int, Op]] = []
        found = None
        while heap:
            key, stamp, operator = heap[0]
            member = self._members.get(operator.id)
            if member is None or member[1] != stamp:
                heapq.heappop(heap)                  # no longer free, or free again since (a newer entry)
                continue
            if key != key_of(operator):
                heapq.heapreplace(heap, (key_of(operator), stamp, operator))
                continue
            if accept is None or accept(operator):
                found = operator
                break
            passed.append(heapq.heappop(heap))
        for entry in passed:
            heapq.heappush(heap, entry)
        return found

    def _heap(self, routing: str) -> list[tuple[tuple[float, ...], int, Op]]:
        key_of = ROUTING_KEYS[routing]
        heap = [(key_of(operator), stamp, operator) for operator, stamp in self._members.values()]
        heapq.heapify(heap)
        return heap


class Seated:
    """Busy operators' handle starts in seat order: a sorted list of seats beside their starts."""

    __slots__ = ("seats", "starts")

    def __init__(self) -> None:
        self.seats: list[int] = []
        self.starts: list[float] = []

    def __len__(self) -> int:
        return len(self.seats)

    def put(self, seat: int, start: float) -> None:
        at = bisect_left(self.seats, seat)
        if at < len(self.seats) and self.seats[at] == seat:
            self.starts[at] = start
            return
        self.seats.insert(at, seat)
        self.starts.insert(at, start)

    def drop(self, seat: int) -> None:
        at = bisect_left(self.seats, seat)
        if at < len(self.seats) and self.seats[at] == seat:
            del self.seats[at]
            del self.starts[at]

    def elapsed(self, now: float) -> tuple[float, ...]:
        return tuple([now - start for start in self.starts])


class Section(Generic[Op]):
    """One campaign's live figures (a campaign group's pool uses only the operators' half)."""

    __slots__ = ("busy", "by_state", "free", "ringing", "waiting")

    def __init__(self) -> None:
        self.by_state: Counter[str] = Counter()   # the campaign's calls followed and not ended, by state
        # each call still ringing: its start (loop time) and the chance of a live answer pacing gave it when
        # it was dialed (None: re-attached after a restart, or dialed by hand), in follow order, as arrays
        self.ringing = Ringing()
        self.waiting = 0                       # answered, no operator yet
        self.busy = Seated()
        self.free: Roster[Op] = Roster()

    def ringing_elapsed(self, now: float) -> np.ndarray:
        return self.ringing.elapsed(now)

    def ringing_chances(self) -> np.ndarray:
        """Each ringing call's chance of a live answer, in the order of ``ringing_elapsed``; empty unless every
        call has one (the snapshot then falls back to the campaign's rate)."""
        return self.ringing.chances()
