"""What a simulated pacer keeps beyond the estimators, as the engine keeps it (dialer/answer_chances.py,
dialer/window_outlook.py): each call's own chance of an answer, the last hour's counts, and the live
answers still to come in the legal window.

The chances come from ``pacing.answer_model``, fed with what was known of each dial when it was placed;
the calls ringing are read at the model's current estimate for their features (it may have learnt since
they were placed), the next calls at the features the dialer would give them now. The answers still to
come are the recent pace (15 minutes) times the time left in the day: the outlook the confidence bound
(``pacing.window_bound``) needs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from pacing.answer_model import AnswerModel
from pacing.dial_features import DialFeatures
from pacing.hour_ahead import hours_ahead

HOUR_S = 3600.0
PACE_S = 900.0


class FloorOutlook:
    def __init__(self, model: AnswerModel) -> None:
        self.model = model
        self._features: dict[int, DialFeatures] = {}
        self._answers: deque[float] = deque()
        self._abandons: deque[float] = deque()

    def placed(self, call: int, features: DialFeatures) -> None:
        self._features[call] = features

    def outcome(self, now: float, call: int, features: DialFeatures, live: bool) -> None:
        self._features.pop(call, None)
        self.model.observe(now, features, live)
        if live:
            self._answers.append(now)

    def abandoned(self, now: float) -> None:
        self._abandons.append(now)

    def ringing_p(self, calls: Iterable[int]) -> tuple[float, ...]:
        """The chances of these ringing calls, in order; empty when one was placed unseen."""
        features = [self._features.get(c) for c in calls]
        if any(f is None for f in features):
            return ()
        return tuple(self.model.probability(f) for f in features if f is not None)

    def next_p(self, next_features: Callable[[int], list[DialFeatures]]) -> tuple[float, ...]:
        return tuple(self.model.probability(f) for f in next_features(1))

    def _trim(self, now: float) -> None:
        for times in (self._answers, self._abandons):
            while times and times[0] < now - HOUR_S:
                times.popleft()

    def hour(self, now: float) -> tuple[int, int]:
        """(live answers, abandons) of the last 60 minutes."""
        self._trim(now)
        return len(self._answers), len(self._abandons)

    def pace(self, now: float) -> float:
        """Live answers per second over the last 15 minutes (or since the start, if shorter)."""
        self._trim(now)
        recent = 0
        for t in reversed(self._answers):          # newest first
            if t < now - PACE_S:
                break
            recent += 1
        return recent / min(PACE_S, max(now, 60.0))

    def answers_to_come(self, now: float, day_end_s: float | None) -> float | None:
        """Live answers still expected before the day ends, at the last 15 minutes' pace (None: no day's end)."""
        if day_end_s is None:
            return None
        return self.pace(now) * max(day_end_s - now, 0.0)

    def hours_ahead(self, now: float) -> tuple[tuple[float, int], ...]:
        """The rolling hours that end over the next minutes, if nothing more is abandoned (pacing.hour_ahead)."""
        return hours_ahead(self._answers, self._abandons, now, self.pace(now))
