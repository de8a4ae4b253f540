"""The rolling hour as it will stand over the next minutes: what ``max_hour_abandon`` guards.

Guarding the last 60 minutes as they stand now lets the worst hour pass the setting with no new abandon:
an hour that holds its abandons at the setting keeps them while its oldest answers leave, and the answers
that replace them come at the pace of a floor that has just fallen back to progressive, or slower. On a
20-operator strategy day the hour stood at 10 abandons in 335 answers (2.99 %) when the pacer fell back, and
reached 10 in 319 (3.13 %) half an hour later without another abandon. So the guard looks ahead: for every
minute over the next ``AHEAD_S``, the hour that will end then holds the answers and abandons made since its
start, plus the answers still to come before it at ``REPLACED`` of the recent pace (a floor that falls back
answers less) and no new abandon (falling back makes none, but for the calls already in flight, which the
controller's margin counts). The controller keeps the tightest of them under the setting. ``AHEAD_S`` is the
whole hour: looking 20 minutes ahead, a 100-operator hour that fell back with 39 abandons in 1,550 answers
stood at 40 in 1,280 half an hour later (progressive answers about half as many cold calls as predictive).

The law's rolling window (24 hours, 30 days) passes its cap the same way: the window that ends tonight is
what the confidence bound aims at, but yesterday's answers leave it minute by minute while its abandons may
stay, so it can stand over the cap for a while before then with no new abandon. ``windows_ahead`` takes
the window's counts still in it at each of the next minutes (whoever keeps the window counts them) and
adds today's answers to come at the same reduced pace; the controller keeps the tightest under the cap.
Those minutes run over the next hour (``window_ends``), not 20 minutes: a floor that falls back answers
less than yesterday's busier hours take out of the window, for as long as they go on leaving it (on a
5-operator day the window shrank for 45 minutes after the fall-back and passed the cap). The departures are
known that far ahead; the answers to come are not: further than an hour, the guard would rest on half a
pace measured over 15 minutes (none at all when the day starts) for hours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

HOUR_S = 3600.0
AHEAD_S = HOUR_S        # the abandons of a hot stretch stay in the hour up to an hour after it
STEP_S = 60.0
WINDOW_AHEAD_S = 3600.0  # the legal window's departures are known; its answers to come, for an hour at most
REPLACED = 0.5          # new answers counted per answer of the recent pace, while the old ones leave


def ahead_ends(now: float, ahead_s: float | None = None, step_s: float = STEP_S) -> np.ndarray:
    """The ends of the windows guarded: now and every ``step_s`` over the next ``ahead_s``."""
    return now + np.arange(0.0, (AHEAD_S if ahead_s is None else ahead_s) + 1e-9, step_s)


def window_ends(now: float, step_s: float = STEP_S) -> np.ndarray:
    """The ends of the legal windows guarded: now and every ``step_s`` over the next ``WINDOW_AHEAD_S``."""
    return ahead_ends(now, WINDOW_AHEAD_S, step_s)


def windows_ahead(staying: Sequence[tuple[int, int]] | np.ndarray, pace_per_s: float, left_s: float | None = None,
                  step_s: float = STEP_S, replaced: float | None = None) -> np.ndarray:
    """(live answers, abandons) of the legal window ending now and at every ``step_s`` after, if nothing more is
    abandoned, one row each: ``staying`` holds the counts of the window now still in it at each of those ends
    (``window_ends``), to which come the answers of the pace at ``REPLACED`` of it, until the calling day ends
    (``left_s``)."""
    counts = np.asarray(staying, dtype=float).reshape(-1, 2)
    share = (REPLACED if replaced is None else replaced) * max(pace_per_s, 0.0)
    left = math.inf if left_s is None else max(left_s, 0.0)
    came = share * np.minimum(np.arange(len(counts)) * step_s, left)
    return np.column_stack((counts[:, 0] + came, counts[:, 1]))


def hours_ahead(answer_times: Sequence[float], abandon_times: Sequence[float], now: float, pace_per_s: float,
                ahead_s: float | None = None, step_s: float = STEP_S,
                replaced: float | None = None) -> tuple[tuple[float, int], ...]:
    """(live answers, abandons) of the rolling hour ending now and at every ``step_s`` over the next ``ahead_s``,
    if nothing more is abandoned; ``answer_times`` and ``abandon_times`` are sorted (those of the last hour)."""
    answers = np.asarray(answer_times, dtype=float)
    abandons = np.asarray(abandon_times, dtype=float)
    ahead = np.arange(0.0, (AHEAD_S if ahead_s is None else ahead_s) + 1e-9, step_s)
    starts = now - HOUR_S + ahead
    staying_answers = answers.size - np.searchsorted(answers, starts, side="left")
    staying_abandons = abandons.size - np.searchsorted(abandons, starts, side="left")
    new = (REPLACED if replaced is None else replaced) * max(pace_per_s, 0.0) * ahead
    return tuple((float(a + n), int(b)) for a, n, b in zip(staying_answers, new, staying_abandons, strict=True))
