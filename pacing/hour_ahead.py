"""The rolling hour as it will stand over the next minutes: what ``max_hour_abandon`` guards.

Guarding the last 60 minutes as they stand now lets the worst hour pass the setting with no new abandon:
an hour that holds its abandons at the setting keeps them while its oldest answers leave, and the answers
that replace them come at the pace of a floor that has just fallen back to progressive, or slower. On a
20-operator strategy day the hour stood at 10 abandons in 335 answers (2.99 %) when the pacer fell back, and
reached 10 in 319 (3.13 %) half an hour later without another abandon. So the guard looks ahead: for every
minute over the next ``AHEAD_S``, the hour that will end then holds the answers and abandons made since its
start, plus the answers still to come before it at ``REPLACED`` of the recent pace (a floor that falls back
answers less) and no new abandon (falling back makes none, but for the calls already in flight, which the
controller's margin counts). The controller keeps the tightest of them under the setting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

HOUR_S = 3600.0
AHEAD_S = 1200.0        # the abandons of a hot stretch stay in the hour at least this long after it
STEP_S = 60.0
REPLACED = 0.5          # new answers counted per answer of the recent pace, while the old ones leave


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
