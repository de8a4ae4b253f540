"""A campaign's ringing calls as arrays: each call's start and chance of a live answer, in follow order.

A predictive decision reads every ringing call — ten thousand on a large floor, many times a second — and
the policy (``pacing.per_call_answers``) works on arrays. Kept as Python dicts, every decision first
turned them into tuples and the tuples into arrays, a walk of every call in the interpreter. Here the
starts and chances live in numpy arrays that the call transitions update in O(1) (amortised), and a
decision reads them with one vectorised pass.

The order is the order the engine began to follow the calls, as the dict it replaces kept it (a call
followed again keeps its place; one that stops ringing and rings again goes to the end): the policy's
sums then add the same floats in the same order. A call that stops ringing only leaves a hole, marked in
``_live``; the holes are squeezed out once they outnumber the calls.
"""

from __future__ import annotations

import numpy as np

_FIRST_SIZE = 64


class Ringing:
    """Channel id → (start, chance), in follow order; a chance of None is kept as NaN."""

    __slots__ = ("_chances", "_end", "_live", "_slot", "_starts", "_unknown")

    def __init__(self) -> None:
        self._slot: dict[str, int] = {}          # channel id → its index in the arrays, in follow order
        self._starts = np.empty(_FIRST_SIZE)
        self._chances = np.empty(_FIRST_SIZE)
        self._live = np.zeros(_FIRST_SIZE, dtype=bool)
        self._end = 0                            # indexes in use (live or holes)
        self._unknown = 0                        # ringing calls without a chance

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, channel_id: str) -> bool:
        return channel_id in self._slot

    def put(self, channel_id: str, start: float, chance: float | None) -> None:
        """The call rings (from ``start``, loop time), with this chance of a live answer."""
        at = self._slot.get(channel_id)
        if at is None:
            if self._end == len(self._starts):
                self._make_room()
            at = self._slot[channel_id] = self._end
            self._end += 1
            self._live[at] = True
        elif np.isnan(self._chances[at]):
            self._unknown -= 1
        self._starts[at] = start
        self._chances[at] = np.nan if chance is None else chance
        if chance is None:
            self._unknown += 1

    def drop(self, channel_id: str) -> None:
        """The call no longer rings (nothing happens if it did not)."""
        at = self._slot.pop(channel_id, None)
        if at is None:
            return
        self._live[at] = False
        if np.isnan(self._chances[at]):
            self._unknown -= 1
        if self._end - len(self._slot) > max(len(self._slot), _FIRST_SIZE):
            self._squeeze()

    def elapsed(self, now: float) -> np.ndarray:
        """How long each call has rung at ``now``, in follow order."""
        return now - self._starts[:self._end][self._live[:self._end]]

    def chances(self) -> np.ndarray:
        """Each call's chance, in the order of ``elapsed``; empty unless every call has one."""
        if self._unknown:
            return np.empty(0)
        return self._chances[:self._end][self._live[:self._end]]

    def items(self) -> list[tuple[str, float]]:
        """(channel id, start) in follow order (for the consistency check)."""
        return list(zip(self._slot, self._starts[:self._end][self._live[:self._end]].tolist(), strict=True))

    def _make_room(self) -> None:
        if self._end - len(self._slot) >= len(self._starts) // 4:
            self._squeeze()
            if self._end < len(self._starts):
                return
        size = 2 * len(self._starts)
        for name in ("_starts", "_chances", "_live"):
            old = getattr(self, name)
            grown = np.zeros(size, dtype=old.dtype)
            grown[:self._end] = old[:self._end]
            setattr(self, name, grown)

    def _squeeze(self) -> None:
        """Drop the holes; the live calls keep their order (the dict's order is the arrays' order)."""
        live = np.flatnonzero(self._live[:self._end])
        count = live.size
        self._starts[:count] = self._starts[live]
        self._chances[:count] = self._chances[live]
        self._live[:count] = True
        self._live[count:self._end] = False
        self._end = count
        self._slot = {channel_id: at for at, channel_id in enumerate(self._slot)}
