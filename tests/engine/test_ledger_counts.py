"""The ledger's counts of the last minutes (the pace, the last hour) against a plain walk of its answers."""

from __future__ import annotations

import random
from collections.abc import Iterator

from dialer.ledger import AbandonLedger


def walked(events: list[tuple[float, bool]], since: float) -> tuple[int, int, list[float], list[float]]:
    """What the ledger held before: its answers walked from the newest back to the first older than ``since``."""
    tail: list[tuple[float, bool]] = []
    for at, abandoned in reversed(events):
        if at < since:
            break
        tail.append((at, abandoned))
    tail.reverse()
    return len(tail), sum(a for _, a in tail), [at for at, _ in tail], [at for at, a in tail if a]


def answered(rng: random.Random, shuffled: bool) -> Iterator[tuple[float, float, bool]]:
    """(loop time now, the answer's time, abandoned): ties as well as gaps, one in five late when shuffled."""
    at = 0.0
    for _ in range(rng.randrange(0, 60)):
        at += rng.choice([0.0, rng.uniform(0.0, 120.0)])
        yield at, at - rng.uniform(0.0, 300.0) if shuffled and rng.random() < 0.2 else at, rng.random() < 0.2


def test_the_last_minutes_counts_are_those_of_a_walk_in_time_order_or_not() -> None:
    rng = random.Random(7)
    for shuffled in (False, True):
        for _ in range(200):
            ledger = AbandonLedger(window_s=rng.choice([600.0, 3600.0]))
            events: list[tuple[float, bool]] = []
            at = 0.0
            for at, when, abandoned in answered(rng, shuffled):
                ledger.add(when, abandoned)
                events.append((when, abandoned))
                if rng.random() < 0.3:                 # the window moves on: its oldest answers leave it
                    now = at + rng.uniform(0.0, 60.0)
                    ledger.counts(now)
                    while events and events[0][0] < now - ledger.window_s:
                        events.pop(0)
                for since in (at - rng.uniform(0.0, 900.0), at, at + 1.0, -1.0, events[0][0] if events else 0.0):
                    answers, abandons, answer_times, abandon_times = walked(events, since)
                    assert ledger.counts_since(since) == (answers, abandons)
                    assert ledger.times_since(since) == (answer_times, abandon_times)


def staying_walked(events: list[tuple[float, bool]], window_s: float, until: float) -> tuple[int, int]:
    """The walk the ledger made before: the window's answers less those older than ``until``'s window."""
    kept = [(at, abandoned) for at, abandoned in events]
    leaving = 0
    abandons_leaving = 0
    for at, abandoned in kept:
        if at >= until - window_s:
            break
        leaving += 1
        abandons_leaving += abandoned
    return len(kept) - leaving, sum(a for _, a in kept) - abandons_leaving


def test_what_stays_in_the_window_later_is_that_of_a_walk_in_time_order_or_not() -> None:
    """Pacing asks what will still be in the window at each minute of the next hour, at every decision."""
    rng = random.Random(11)
    for shuffled in (False, True):
        for _ in range(200):
            ledger = AbandonLedger(window_s=rng.choice([600.0, 3600.0]))
            added = list(answered(rng, shuffled))
            for _, when, abandoned in added:
                ledger.add(when, abandoned)
            events = [(when, abandoned) for _, when, abandoned in added]
            now = (added[-1][0] if added else 0.0) + rng.uniform(0.0, 60.0)
            ledger.counts(now)
            while events and events[0][0] < now - ledger.window_s:      # as counts() lets them go
                events.pop(0)
            ends = sorted(now + rng.uniform(0.0, 2 * ledger.window_s) for _ in range(rng.randrange(1, 8)))
            assert ledger.counts_staying_at(now, ends) == [staying_walked(events, ledger.window_s, end)
                                                           for end in ends]
            assert ledger.counts_staying(now, ends[0]) == staying_walked(events, ledger.window_s, ends[0])
