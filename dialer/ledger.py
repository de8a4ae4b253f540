"""The campaign's live answers and abandons over the legal window, kept in memory for the pacer.

Pacing reads it many times a second, so it cannot be a query. It is seeded from the attempt rows of the
window when the campaign starts (an engine restart keeps the law's arithmetic intact) and then follows
every answered call as soon as its fate is known — put through, sent to the message, or lost waiting — not
when its conversation ends, so the supervisor's figures agree with the answers on the floor
(``dialer/call_events.py``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice
from operator import itemgetter

import asyncpg

import compliance.store
from dialer.call import Call, CallState

_AT = itemgetter(0)


class AbandonLedger:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        # (loop time, abandoned) of the window's answers from ``_head`` on; those before it have left. A list
        # with a moving head, not a deque: pacing bisects it many times a second, and a deque's index walks
        # its blocks (a day of a large floor holds millions of answers in a 24-hour window).
        self._events: list[tuple[float, bool]] = []
        self._head = 0
        self._answers = 0
        self._abandons = 0
        # Pacing asks for the last minutes' counts on every decision: with the events in time order (loop
        # time only moves on) they are found by bisection and a running count of abandons, not by walking
        # the minutes' answers, which a large floor makes thousands.
        self._abandons_before: list[int] = []   # per event: the abandons added before it
        self._abandons_added = 0
        self._in_order = True
        # A campaign group's ledger, for regimes that count per call centre: it sees every answer too.
        self.group: AbandonLedger | None = None

    def add(self, now: float, abandoned: bool) -> None:
        if len(self._events) > self._head and now < self._events[-1][0]:
            self._in_order = False
        self._events.append((now, abandoned))
        self._abandons_before.append(self._abandons_added)
        self._abandons_added += abandoned
        self._answers += 1
        self._abandons += abandoned
        if self.group is not None:
            self.group.add(now, abandoned)

    def counts(self, now: float) -> tuple[int, int]:
        """(live answers, abandons) of the window ending now."""
        horizon = now - self.window_s
        events, head = self._events, self._head
        while head < len(events) and events[head][0] < horizon:
            self._answers -= 1
            self._abandons -= events[head][1]
            head += 1
        if head > 4096 and 2 * head > len(events):      # forget what left, now and then, in one go
            del events[:head]
            del self._abandons_before[:head]
            head = 0
        self._head = head
        return self._answers, self._abandons

    def _first_from(self, since: float) -> int:
        return bisect_left(self._events, since, lo=self._head, key=_AT)

    def _abandons_before_index(self, index: int) -> int:
        return self._abandons_before[index] if index < len(self._events) else self._abandons_added

    def _window(self) -> Iterable[tuple[float, bool]]:
        return islice(self._events, self._head, None)

    def counts_since(self, since: float) -> tuple[int, int]:
        """(live answers, abandons) after ``since`` (e.g. the last hour), within the window."""
        if self._in_order:
            first = self._first_from(since)
            return len(self._events) - first, self._abandons_added - self._abandons_before_index(first)
        answers = abandons = 0
        for at, abandoned in reversed(self._events[self._head:]):
            if at < since:
                break
            answers += 1
            abandons += abandoned
        return answers, abandons

    def times_since(self, since: float) -> tuple[list[float], list[float]]:
        """The times of the live answers and of the abandons after ``since``, oldest first."""
        if self._in_order:
            last = self._events[self._first_from(since):]
            return [at for at, _ in last], [at for at, abandoned in last if abandoned]
        answers: list[float] = []
        abandons: list[float] = []
        for at, abandoned in reversed(self._events[self._head:]):
            if at < since:
                break
            answers.append(at)
            if abandoned:
                abandons.append(at)
        return answers[::-1], abandons[::-1]

    def counts_staying(self, now: float, until: float) -> tuple[int, int]:
        """(live answers, abandons) of the window ending now that are still in it at ``until`` (later): the
        oldest leave meanwhile."""
        return self.counts_staying_at(now, (until,))[0]

    def counts_staying_at(self, now: float, ends: Iterable[float]) -> list[tuple[int, int]]:
        """``counts_staying`` at each of ``ends`` (ascending). Pacing asks at every decision for each minute of
        the next hour, and yesterday's answers of that hour leave a 24-hour window meanwhile (thousands on a
        large floor): in time order they are found by bisection, not walked."""
        answers, abandons = self.counts(now)
        ends = list(ends)
        staying: list[tuple[int, int]] = []
        if self._in_order and ends and (self._head == len(self._events)
                                        or self._events[self._head][0] >= ends[-1] - self.window_s):
            return [(answers, abandons)] * len(ends)        # none leaves by the last end (a window's first day)
        if self._in_order:
            head, first_before = self._head, self._abandons_before_index(self._head)
            for end in ends:
                leaving = self._first_from(end - self.window_s)
                staying.append((answers - (leaving - head),
                                abandons - (self._abandons_before_index(leaving) - first_before)))
            return staying
        events = iter(self._window())
        pending: tuple[float, bool] | None = next(events, None)
        for end in ends:
            horizon = end - self.window_s
            while pending is not None and pending[0] < horizon:
                answers -= 1
                abandons -= pending[1]
                pending = next(events, None)
            staying.append((answers, abandons))
        return staying

    async def seed(self, conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int | list[int], wall_now: datetime,
                   loop_now: float, live: Iterable[Call] = ()) -> None:
        """Load the window's answered attempts from the store, placed at their loop-time equivalents
        (of one campaign, or of all the campaigns of a group), with the ``live`` calls of those campaigns
        whose answer is already counted: the store holds only the ended ones, and a call in conversation
        (counted at its hand-off) is not counted again when it ends."""
        ids = campaign_id if isinstance(campaign_id, list) else [campaign_id]
        answers = await compliance.store.answered_since(conn, campaign_ids=ids,
                                                        since=wall_now - timedelta(seconds=self.window_s))
        placed = [(loop_now - (wall_now - at).total_seconds(), abandoned) for at, abandoned in answers]
        placed += [(call.answered_at if call.answered_at is not None else loop_now,
                    call.abandoned or call.state is CallState.SAFE_HARBOR)
                   for call in live if call.ledgered and call.campaign_id in ids]
        for at, abandoned in sorted(placed, key=lambda entry: entry[0]):
            self.add(at, abandoned)
