"""The legal window behind a simulated day: the earlier days' answers and abandons that still count.

The law counts abandonment over a window (24 hours in the UK, 30 days in the US), not over a day. A day
that starts with a clean window may spend the whole cap; a day that starts with yesterday's abandons still
in it has less room, and sees them leave as its own clock moves on. The simulation gives the pacer the
window's counts (``DayFloor.window_counts``) as the engine's ledger does, and measures the window's rate.
Earlier days enter as event times before today's start (negative seconds): either a simulated day's
quarters, or counts given by hand, spread evenly over the earlier days' working hours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DAY_S = 86400.0


@dataclass(frozen=True)
class Quarter:
    """A quarter of an hour of a simulated day: its dials, live answers and abandons."""
    start_s: float
    answers: int
    abandons: int
    dials: int


@dataclass(frozen=True, eq=False)
class WindowHistory:
    window_s: float
    answer_times: np.ndarray      # seconds relative to today's start (negative), sorted
    abandon_times: np.ndarray

    def counts(self, now: float) -> tuple[int, int]:
        """(live answers, abandons) of the earlier days still inside the window ending ``now``."""
        horizon = now - self.window_s
        answers = len(self.answer_times) - int(np.searchsorted(self.answer_times, horizon, side="right"))
        abandons = len(self.abandon_times) - int(np.searchsorted(self.abandon_times, horizon, side="right"))
        return answers, abandons

    def counts_at(self, ends: np.ndarray) -> np.ndarray:
        """``counts`` at each of ``ends``, one row (answers, abandons) each."""
        horizons = np.asarray(ends, dtype=float) - self.window_s
        answers = len(self.answer_times) - np.searchsorted(self.answer_times, horizons, side="right")
        abandons = len(self.abandon_times) - np.searchsorted(self.abandon_times, horizons, side="right")
        return np.column_stack((answers, abandons))


def window_days(window_s: float) -> int:
    """How many earlier days a window reaches into (1 for 24 hours, 30 for 30 days)."""
    return max(1, math.ceil(window_s / DAY_S))


def given_history(window_s: float, answers: int, abandons: int, day_s: float) -> WindowHistory:
    """Counts given by hand: the earlier days' answers and abandons in the window when today starts, spread
    evenly over those days' working hours (``day_s`` from the same start as today), so they leave the window
    as today's clock passes the hours they were made at."""
    if answers < 0 or abandons < 0 or abandons > answers:
        raise ValueError(f"earlier days' counts must be 0 <= abandons <= answers; got {answers} answers, "
                         f"{abandons} abandons")
    days = window_days(window_s)
    return WindowHistory(window_s, _spread(answers, days, day_s, window_s), _spread(abandons, days, day_s, window_s))


def _spread(count: int, days: int, day_s: float, window_s: float) -> np.ndarray:
    if count == 0:
        return np.zeros(0)
    # the k-th of ``count`` events at the middle of its share of the earlier days' working time, oldest first
    at = (np.arange(count) + 0.5) / count * days * day_s
    day = np.floor(at / day_s)
    times = (day - days) * DAY_S + (at - day * day_s)
    return np.sort(times[times > -window_s])


def history_after(window_s: float, days: Sequence[Sequence[Quarter]]) -> WindowHistory:
    """The window as it stands at the start of the day after ``days`` (oldest first, one every 24 hours):
    each quarter's answers and abandons spread evenly over its 15 minutes."""
    answers: list[np.ndarray] = []
    abandons: list[np.ndarray] = []
    for back, quarters in enumerate(reversed(days), 1):
        for q in quarters:
            answers.append(_within(q.start_s - back * DAY_S, q.answers))
            abandons.append(_within(q.start_s - back * DAY_S, q.abandons))
    a = np.sort(np.concatenate(answers)) if answers else np.zeros(0)
    b = np.sort(np.concatenate(abandons)) if abandons else np.zeros(0)
    return WindowHistory(window_s, a[a > -window_s], b[b > -window_s])


def _within(start: float, count: int) -> np.ndarray:
    return start + (np.arange(count) + 0.5) / max(count, 1) * 900.0


def quarters_of(end: float, dial_times: Sequence[float], answer_times: Sequence[float],
                abandon_times: Sequence[float]) -> tuple[Quarter, ...]:
    """The day cut into quarters of an hour (the last one may be short)."""
    n = max(1, math.ceil(end / 900.0 - 1e-9))

    def per_quarter(times: Sequence[float]) -> list[int]:
        idx = np.minimum((np.asarray(times, dtype=float) // 900.0).astype(int), n - 1)
        return np.bincount(idx, minlength=n).tolist()
    dials, answers, abandons = per_quarter(dial_times), per_quarter(answer_times), per_quarter(abandon_times)
    return tuple(Quarter(900.0 * i, answers[i], abandons[i], dials[i]) for i in range(n))


def worst_window(history: WindowHistory | None, answer_times: Sequence[float], abandon_times: Sequence[float],
                 end: float, min_answers: int = 100) -> float:
    """The worst rate of the legal window ending at any minute of the day, earlier days included, among the
    windows that hold at least ``min_answers`` live answers (fewer cannot say 3 % to a point); 0 if none."""
    ends = np.arange(60.0, end + 1e-9, 60.0)
    if ends.size == 0:
        return 0.0
    n_ans = np.searchsorted(np.asarray(answer_times, dtype=float), ends, side="right")
    n_ab = np.searchsorted(np.asarray(abandon_times, dtype=float), ends, side="right")
    if history is not None:
        n_ans = n_ans + np.array([history.counts(t)[0] for t in ends])
        n_ab = n_ab + np.array([history.counts(t)[1] for t in ends])
    held = n_ans >= min_answers
    if not held.any():
        return 0.0
    return float((n_ab[held] / n_ans[held]).max())
