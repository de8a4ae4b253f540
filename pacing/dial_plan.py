"""What a simulated campaign dials at each moment of its day: which category, and how often it answers.

A real campaign's answer rate is not one figure. Its strategy dials cold leads in the morning (few answer),
callbacks in the afternoon (most answer), follow-ups after that; and the callees' answer rate may also move
with nobody able to foresee it (the same list, a lunch hour, a holiday). A plan is a list of stretches of
the day; each says which category is dialed and the share of its dials a person answers. The category is
what the dialer knows (it travels with every dial in ``DialFeatures``); the answer rate is the world's
truth, which the dialer never sees. A profile moves the answer rate under one category: the unforeseen
change. A strategy moves the category, and the answer rate with it: the change the dialer could foresee.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pacing.dial_features import DialFeatures

# What a category says of a lead's past in the simulated list: (attempt, answered before, dialed before).
# A callback was asked for by a person who answered; a follow-up comes days after a conversation; a retry
# follows a dial nobody answered. Other categories (and none) are first attempts.
HISTORY: Mapping[str, tuple[int, int, int]] = {"cold": (1, 0, 0), "callback": (2, 1, 1),
                                               "follow_up": (2, 1, 1), "retry": (2, 0, 1)}


class DialPlanError(ValueError):
    """A plan that cannot be dialed (an answer rate outside [0, 1], stretches out of order …)."""


@dataclass(frozen=True)
class Stretch:
    start_s: float            # from this second of the day (0 = when the operators log in)
    answer_rate: float        # share of dials a person answers: the world's truth
    category: str = ""        # what the dialer knows of the leads it dials ("" when the list is one)


@dataclass(frozen=True)
class DialPlan:
    stretches: tuple[Stretch, ...]
    start_hour: float = 9.0   # the callees' clock at the start of the day (hours after midnight)

    def __post_init__(self) -> None:
        if not self.stretches or self.stretches[0].start_s != 0.0:
            raise DialPlanError("a dial plan starts at 0 s (the start of the day)")
        starts = [s.start_s for s in self.stretches]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise DialPlanError(f"the stretches of a dial plan must start in order, each once; got starts {starts}")
        for s in self.stretches:
            if not 0.0 <= s.answer_rate <= 1.0:
                raise DialPlanError(f"answer rate {s.answer_rate:g} at {s.start_s / 3600:g} h is not within [0, 1]")
        if not 0.0 <= self.start_hour < 24.0:
            raise DialPlanError(f"start_hour {self.start_hour:g} is not an hour of the day")
        object.__setattr__(self, "_starts", starts)

    def at(self, now: float) -> Stretch:
        """The stretch in force ``now`` seconds into the day."""
        return self.stretches[max(0, bisect.bisect_right(self._starts, now) - 1)]  # type: ignore[attr-defined]

    def features(self, now: float) -> DialFeatures:
        """What the dialer knows about a number it dials ``now``: the category, its history, the local hour."""
        category = self.at(now).category
        attempt, answered, dialed = HISTORY.get(category, (1, 0, 0))
        hour = math.floor(self.start_hour + now / 3600.0) % 24
        return DialFeatures(category, attempt, hour, answered, dialed)

    def switches(self) -> tuple[tuple[float, bool], ...]:
        """Every moment the answer rate or the category changes: (second of the day, foreseen), foreseen when
        the category changed (the dialer could know), unforeseen when only the answer rate did."""
        out = []
        for a, b in itertools.pairwise(self.stretches):
            if a.answer_rate != b.answer_rate or a.category != b.category:
                out.append((b.start_s, a.category != b.category))
        return tuple(out)


def constant_plan(answer_rate: float, start_hour: float = 9.0) -> DialPlan:
    """One answer rate all day, one category: the world of the pacing grid."""
    return DialPlan((Stretch(0.0, answer_rate),), start_hour)


def profile_plan(points: Sequence[tuple[float, float]], start_hour: float = 9.0, category: str = "") -> DialPlan:
    """Answer rate by hour of the day, ``[(0, 0.35), (2, 0.1), (5, 0.35)]`` (hours after the start): one
    category, so the dialer is not told when the rate moves."""
    return DialPlan(tuple(Stretch(hour * 3600.0, rate, category) for hour, rate in points), start_hour)


def strategy_plan(categories: Sequence[tuple[float, str]], answer_rates: Mapping[str, float],
                  start_hour: float = 9.0) -> DialPlan:
    """The category dialed from each second of the day on, ``[(0, "cold"), (14400, "callback")]``, with
    each category's answer rate: the strategy's switches, which the dialer knows the moment they happen."""
    missing = sorted({c for _, c in categories} - set(answer_rates))
    if missing:
        raise DialPlanError(f"no answer rate for the categor{'y' if len(missing) == 1 else 'ies'} "
                            f"{', '.join(missing)} the strategy dials")
    merged: list[Stretch] = []
    for start_s, category in categories:
        if merged and merged[-1].category == category:
            continue
        merged.append(Stretch(start_s, answer_rates[category], category))
    return DialPlan(tuple(merged), start_hour)
