"""The campaign's live answers and abandons over the legal window, kept in memory for the pacer.

Pacing reads it many times a second, so it cannot be a query. It is seeded from the attempt rows of the
window when the campaign starts (an engine restart keeps the law's arithmetic intact) and then follows
every answered call as soon as its fate is known — put through, sent to the message, or lost waiting — not
when its conversation ends, so the supervisor's figures agree with the answers on the floor
(``dialer/call_events.py``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
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
        self._events: deque[tuple[float, bool]] = deque()   # (loop time, abandoned)
        self._answers = 0
        self._abandons = 0
        # Pacing asks for the last minutes' counts on every decision: with the events in time order (loop
        # time only moves on) they are found by bisection and a running count of abandons, not by walking
        # the minutes' answers, which a large floor makes thousands.
        self._abandons_before: deque[int] = deque()   # per event: the abandons added before it
        self._abandons_added = 0
        self._in_order = True
        # A campaign group's ledger, for regimes that count per call centre: it sees every answer too.
        self.group: AbandonLedger | None = None

    def add(self, now: float, abandoned: bool) -> None:
        if self._events and now < self._events[-1][0]:
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
        while self._events and self._events[0][0] < horizon:
            _, abandoned = self._events.popleft()
            self._abandons_before.popleft()
            self._answers -= 1
            self._abandons -= abandoned
        return self._answers, self._abandons

    def counts_since(self, since: float) -> tuple[int, int]:
        """(live answers, abandons) after ``since`` (e.g. the last hour), within the window."""
        if self._in_order:
            first = bisect_left(self._events, since, key=_AT)
            if first == len(self._events):
                return 0, 0
            return len(self._events) - first, self._abandons_added - self._abandons_before[first]
        answers = abandons = 0
        for at, abandoned in reversed(self._events):
            if at < since:
                break
            answers += 1
            abandons += abandoned
        return answers, abandons

    def times_since(self, since: float) -> tuple[list[float], list[float]]:
        """The times of the live answers and of the abandons after ``since``, oldest first."""
        if self._in_order:
            last = list(islice(self._events, bisect_left(self._events, since, key=_AT), None))
            return [at for at, _ in last], [at for at, abandoned in last if abandoned]
        answers: list[float] = []
        abandons: list[float] = []
        for at, abandoned in reversed(self._events):
            if at < since:
                break
            answers.append(at)
            if abandoned:
                abandons.append(at)
        return answers[::-1], abandons[::-1]

    def counts_staying(self, now: float, until: float) -> tuple[int, int]:
        """(live answers, abandons) of the window ending now that are still in it at ``until`` (later): the
        oldest leave meanwhile. Counted from the oldest end, the few that leave a 30-day window by tonight."""
        answers, abandons = self.counts(now)
        horizon = until - self.window_s
        for at, abandoned in self._events:
            if at >= horizon:
                break
            answers -= 1
            abandons -= abandoned
        return answers, abandons

    def counts_staying_at(self, now: float, ends: Iterable[float]) -> list[tuple[int, int]]:
        """``counts_staying`` at each of ``ends`` (ascending), in one walk over the calls that leave by the last."""
        answers, abandons = self.counts(now)
        events = iter(self._events)
        pending: tuple[float, bool] | None = next(events, None)
        staying: list[tuple[int, int]] = []
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
