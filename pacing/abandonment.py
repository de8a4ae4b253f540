"""The outer loop: keep the measured abandonment of the legal window on its setpoint, under the cap.

The predictive model is only as good as its estimates; whatever bias it has shows up in the measured
rate. This controller integrates the error in log space (α grows when the window runs below the
setpoint and shrinks when above), so a model that is too cautious or too bold still lands on the
setpoint. Near the cap it stops trusting anything and falls back to progressive dialing, which cannot
abandon a call; it returns once the window is back below the setpoint. The window (24 hours, 30 days…)
belongs to the caller: it passes the window's counts, this class needs no clock of its own beyond
the time passed in.

The integral is slow (time constant 40 minutes). Abandons are rare events: 20 operators answer about 60
calls in 10 minutes, of which 1.5 should be abandoned, so a 10-minute measure of the recent rate is mostly
noise, and a controller that follows it swings α widely. Occupancy is concave in α, so such swings cost
occupancy at the same abandonment (benchmarks/results/pacing-notes.md has the runs that chose 40 minutes).
Protecting the cap does not rest on this loop but on the fall-back and the soft approach below, which act
on every abandon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AlphaDecision:
    alpha: float
    fallback: bool          # dial progressive: the window is too close to the cap
    rate: float             # measured abandonment of the window (abandons / live answers)


class AbandonmentController:
    def __init__(self, setpoint: float = 0.025, cap: float = 0.03, time_constant_s: float = 2400.0,
                 alpha_range: tuple[float, float] = (0.02, 12.0), margin_abandons: float = 1.0,
                 min_answers: int = 10, initial_alpha: float | None = None,
                 soft_room: float = 3.0, start_allowance: float = 2.0) -> None:
        if not 0 < setpoint < cap < 1:
            raise ValueError(f"need 0 < setpoint ({setpoint}) < cap ({cap}) < 1")
        self.setpoint = setpoint
        self.cap = cap
        self.time_constant_s = time_constant_s
        self.low, self.high = setpoint * alpha_range[0], setpoint * alpha_range[1]
        self.margin_abandons = margin_abandons
        self.min_answers = min_answers
        self.soft_room = soft_room
        self.start_allowance = start_allowance
        self.log_alpha = math.log(initial_alpha if initial_alpha is not None else setpoint)
        self.fallback = False
        self._last: float | None = None
        self._seen = (0, 0)
        self._recent = (0.0, 0.0)

    def update(self, now: float, answers: int, abandons: int, margin_abandons: float | None = None) -> AlphaDecision:
        """Feed the window's live answers and abandons; get the α to dial with now.

        The integral acts on the *recent* rate (an exponential average over ``time_constant_s``) aiming at
        the setpoint, corrected by how far the legal window is from it, so an early burst does not keep
        α pinned down for hours. ``margin_abandons``: abandons that may still come from calls already in
        flight; the controller falls back once the room left under the cap is smaller than that.
        """
        margin = self.margin_abandons if margin_abandons is None else max(margin_abandons, self.margin_abandons)
        rate = abandons / answers if answers else 0.0
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        new_answers = max(0, answers - self._seen[0])
        new_abandons = max(0, abandons - self._seen[1])
        self._seen = (answers, abandons)
        keep = math.exp(-dt / self.time_constant_s)
        if not self.fallback:
            # the recent rate is that of predictive dialing: stretches of progressive would dilute it
            self._recent = (self._recent[0] * keep + new_answers, self._recent[1] * keep + new_abandons)
        # What the window may still take. A window of fewer than 1/cap answers cannot express the cap at all
        # (one abandon in 20 answers is 5 %): it is allowed ``start_allowance`` abandons, which a day of a
        # few hundred answers dilutes far below the cap; from 2/cap answers on the cap itself rules.
        budget = max(self.cap * (answers + 1), self.start_allowance)
        room = budget - abandons
        # Early in the window a couple of abandons weigh a lot: aim below the budget by the margin and the
        # soft room, in abandons, so that dialing at the aim does not run into the fall-back.
        goal = max(min(self.setpoint, (budget - margin - self.soft_room) / max(answers, 1)), 0.1 * self.setpoint)
        # No integration while falling back: progressive abandons nothing, and an integral that kept growing
        # meanwhile would come back with a burst of abandons that sends it straight back (wind-up).
        if answers >= self.min_answers and self._recent[0] >= 5.0 and not self.fallback:
            recent = self._recent[1] / self._recent[0]
            # aim the recent rate so that the window converges to the goal
            aim = min(max(goal + (goal - rate), 0.25 * goal), 1.2 * goal)
            error = (aim - recent) / goal
            self.log_alpha += max(-1.0, min(1.0, error)) * dt / self.time_constant_s
            self.log_alpha = min(max(self.log_alpha, math.log(self.low)), math.log(self.high))
        if room < margin:
            self.fallback = True
        elif self.fallback and room >= margin + 1.0:
            self.fallback = False
        # Approach the cap gently: with little room left α shrinks with it, so the dialer slows down before
        # the fall-back has to stop it (bang-bang between the two wastes the operators' time).
        soften = min(1.0, max(0.05, (room - margin) / self.soft_room))
        return AlphaDecision(math.exp(self.log_alpha) * soften, self.fallback, rate)
