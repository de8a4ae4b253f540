"""The chance that one dial is answered by a person, learnt online per campaign from what the dialer knows.

A campaign's answer rate is a mixture: cold calls in the morning are answered far less often than
callbacks in the afternoon. One rate learnt from the answers lags every change of mixture by the length
of its memory, and while it lags the predictive model dials for the old rate; when the new leads answer
more often, those extra answers find no operator. Each dial's own chance, from its category, attempt,
the callee's local hour and the number's history (``pacing.dial_features.DialFeatures``), moves the moment
the dialer starts dialing other leads: nothing has to be learnt from abandons.

Estimates live in a three-level tree, each level shrunk towards its parent (a cell with few data says
roughly what its parent says): a category towards its prior, the cells below it by as many pseudo-dials
as a memory holds (``detail_strength``, ``min_effective`` unless given). Within a category the attempts and
hours differ far less than categories do, and a cell read on its first few dials would move each call's
chance with their luck:

    campaign  →  category  →  category × attempt band × history  →  … × local-hour band

A category may come with a prior (``category_priors``: what the campaign knows of such leads from earlier
days), from which it starts. One without is not assumed to answer like the rest of the campaign: the
first callbacks after a morning of cold calls would then find no operator. It starts from a high rate
(``new_category_rate``, or the campaign's if higher) held by a few pseudo-dials only, so the dialer is
careful for its first few dozen dials and then follows what they show.

Every level forgets exponentially in time (``half_life_s``) but never below ``min_effective`` dials, as
``pacing.estimators`` does: a busy floor follows a change within minutes, a cell nobody dials
keeps what it knew until it is dialed again. A category that is little known is read on its cautious
side (``caution`` standard deviations of its Beta posterior above the mean): over-estimating the chance
of an answer makes the dialer place fewer calls, never more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pacing.dial_features import DialFeatures

_HOUR_BANDS = (12, 14, 17)          # local hour: morning, midday, afternoon, evening


def _attempt_band(features: DialFeatures) -> int:
    return min(max(features.attempt, 1), 3)


def _history(features: DialFeatures) -> int:
    """0: never dialed; 1: dialed, never answered; 2: answered by a person before."""
    if features.answered_before > 0:
        return 2
    return 1 if features.dialed_before > 0 else 0


def _hour_band(features: DialFeatures) -> int:
    return sum(features.local_hour >= edge for edge in _HOUR_BANDS)


class _Cell:
    """Exponentially forgotten dials and live answers of one cell."""
    __slots__ = ("answers", "dials", "last", "seen")

    def __init__(self) -> None:
        self.dials = 0.0
        self.answers = 0.0
        self.last: float | None = None
        self.seen = 0               # every dial ever, unforgotten

    def add(self, now: float, live: bool, tau: float, floor: float) -> None:
        if self.last is not None:
            keep = max(math.exp(-max(0.0, now - self.last) / tau), floor)
            self.dials *= keep
            self.answers *= keep
        self.last = now
        self.dials += 1.0
        self.answers += live
        self.seen += 1

    def shrunk(self, parent: float, strength: float) -> tuple[float, float]:
        """(posterior mean, its weight in dials) with ``strength`` pseudo-dials at ``parent``."""
        weight = self.dials + strength
        return (self.answers + strength * parent) / weight, weight


class AnswerModel:
    """P(live answer) per dial, from its features; fed every finished dial with the features it was dialed
    with. Pure: the caller passes the time."""

    def __init__(self, campaign_rate: float = 0.3, category_priors: Mapping[str, float] | None = None,
                 half_life_s: float = 120.0, min_effective: float = 200.0, strength: float = 20.0,
                 prior_strength: float = 60.0, caution: float = 1.0, new_category_rate: float = 0.5,
                 new_category_strength: float = 5.0, detail_strength: float | None = None) -> None:
        if not 0.0 < campaign_rate < 1.0:
            raise ValueError(f"campaign_rate must be within (0, 1); got {campaign_rate}")
        for name, p in (category_priors or {}).items():
            if not 0.0 < p < 1.0:
                raise ValueError(f"prior answer rate of category {name!r} must be within (0, 1); got {p}")
        self.campaign_prior = campaign_rate
        self.category_priors = dict(category_priors or {})
        self.tau = half_life_s / math.log(2)
        self.floor = 1.0 - 1.0 / min_effective
        self.strength = strength
        self.detail_strength = min_effective if detail_strength is None else detail_strength
        self.prior_strength = prior_strength
        self.caution = caution
        self.new_category = (new_category_rate, new_category_strength)
        self._campaign = _Cell()
        self._cells: dict[tuple[object, ...], _Cell] = {}
        self._cache: dict[DialFeatures, float] = {}

    def _keys(self, f: DialFeatures) -> tuple[tuple[object, ...], ...]:
        category = (f.category,)
        middle = (f.category, _attempt_band(f), _history(f))
        return category, middle, (*middle, _hour_band(f))

    def observe(self, now: float, features: DialFeatures, live: bool) -> None:
        """A dial with these features ended: answered by a person (``live``) or not (machines, busy, no answer)."""
        self._campaign.add(now, live, self.tau, self.floor)
        for key in self._keys(features):
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = _Cell()
            cell.add(now, live, self.tau, self.floor)
        self._cache.clear()

    def campaign_rate(self) -> float:
        """The campaign's rate over all recent dials, whatever their mixture."""
        return self._campaign.shrunk(self.campaign_prior, 2.0)[0]

    def probability(self, features: DialFeatures) -> float:
        """P(this dial is answered by a person), read on its cautious side while its cell knows little."""
        cached = self._cache.get(features)
        if cached is not None:
            return cached
        prior = self.category_priors.get(features.category)
        if prior is None:
            # a category without a prior: dialed for the first time it might be answered far more often
            # than the others (callbacks after cold calls), so it starts high and learns from few dials
            parent, strength = max(self.campaign_rate(), self.new_category[0]), self.new_category[1]
        else:
            parent, strength = prior, self.prior_strength
        known = float(strength)      # what is known of the category: its prior's weight and its dials
        for level, key in enumerate(self._keys(features)):
            cell = self._cells.get(key)
            if cell is not None:
                if level == 0 and prior is None:
                    # the careful start is for the first dials only: held for good, its few pseudo-dials
                    # would bias a rare answer rate upwards against a memory of a few hundred dials
                    strength *= max(0.0, 1.0 - cell.seen / (4.0 * self.strength))
                parent, weight = cell.shrunk(parent, strength)
                if level == 0:
                    known = weight
            # below the category a cell departs from its parent only on as many dials as a memory holds
            # (every dial of the category teaches the category too, so it follows what is dialed now)
            strength = self.detail_strength
        # The caution is the category's: within a category the attempt and hour cells differ by less
        # than a new category may differ from the others, and a new hour must not jump the estimate.
        # It fades once the category is known (4 × strength dials): a lasting bias would only make the
        # outer controller work against it, and it costs most where answers are rare.
        fade = max(0.0, 1.0 - known / (4.0 * self.strength))
        sd = math.sqrt(parent * (1.0 - parent) / (known + 1.0))
        p = min(max(parent + self.caution * fade * sd, 1e-4), 0.999)
        self._cache[features] = p
        return p

    def probabilities(self, dials: list[DialFeatures] | tuple[DialFeatures, ...]) -> tuple[float, ...]:
        return tuple(self.probability(f) for f in dials)
