"""What predictive dialing optimizes: abandonment (the legal default), operator wait, or busy factor.

The predictive bound has one knob, α (expected abandons per expected answer). The abandonment
controller moves it so the legal window sits on its setpoint. A floor may rather aim at a mean operator
wait between calls (seconds) or a busy factor (share of logged-in time operators are busy); then a second
integral controller moves α toward that target, measured over the last minutes, and the α dialed is the
smaller of the two. So the abandonment side keeps binding whatever the target: the target may make the
floor *less* aggressive than the abandonment setpoint allows, never more, and the fall-back to
progressive near the cap is the abandonment controller's, unchanged.

Below a tenth of the setpoint α hardly changes the answer any more (the model is near certain either
way), yet such a floor still dials well above progressive, because it counts calls that have rung a while
as unlikely answers. So the controller's level goes on below that α as a *pace*: calls beyond progressive
(one call per free operator) are released at pace × (calls the lines cap allows beyond progressive) per
second, never more than predictive wants. Pace 1 is plain predictive; pace → 0 is progressive. A target
that needs less dialing than progressive is out of reach; the simulation report then shows the gap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from pacing.abandonment import AbandonmentController, AlphaDecision
from pacing.policies import OPTIMIZE, PacingSettings

_ALPHA_FLOOR = 0.1          # × setpoint: below it the level is a pace, not an α
_PACE_FLOOR = 1e-3

__all__ = ["OPTIMIZE", "TargetController"]


class TargetController:
    """α for the campaign's (or the pool's) optimization target, under the abandonment controller's α."""

    def __init__(self, settings: PacingSettings, time_constant_s: float = 150.0,
                 measure_time_s: float = 300.0) -> None:
        self.optimize = settings.optimize
        self.target = settings.optimize_target
        setpoint = settings.target_abandon
        if self.optimize == "abandon" and self.target is not None:
            setpoint = self.target
        # an abandonment target set by hand is the most the confidence bound may aim at
        ceiling = setpoint if self.optimize == "abandon" and self.target is not None else None
        self.abandonment = AbandonmentController(setpoint, settings.abandon_cap, max_hour=settings.max_hour_abandon,
                                                 ceiling=ceiling)
        self.time_constant_s = time_constant_s
        self._measure_tau = measure_time_s
        self._log_alpha_min = math.log(setpoint * _ALPHA_FLOOR)
        self._log_floor = self._log_alpha_min + math.log(_PACE_FLOOR)
        self.level = math.log(setpoint)               # log α, continued below the α floor as log pace
        self.pace = 1.0
        self._credit = 0.0
        self._throttled: float | None = None
        self._last: float | None = None
        self._state: tuple[int, int] = (0, 0)          # free, busy operators since the last update
        self._seen: tuple[int, int] = (0, 0)           # answers, abandons at the last update
        self._free_s = self._busy_s = self._connects = 0.0
        self._day = (0.0, 0.0, 0.0)                    # the same since the start: free s, busy s, connects
        self.measured: float | None = None             # wait (s) or busy factor over the last minutes

    def update(self, now: float, answers: int, abandons: int, free: int | None, busy: int | None,
               margin_abandons: float | None = None, answers_to_come: float | None = None,
               hour: tuple[int, int] | None = None, staying: tuple[int, int] | None = None,
               category: str | None = None, hours_ahead: Sequence[tuple[float, int]] = (),
               windows_ahead: Sequence[tuple[float, int]] | np.ndarray = (),
               in_flight_answers: float | None = None) -> AlphaDecision:
        """Feed the window's counts and the operators free and busy now; get the α to dial with.

        Connected calls are counted as live answers minus abandons (what the ledger already holds), so
        the engine needs nothing new to measure the wait. ``free``/``busy`` None: the operators are not
        this controller's to measure (a campaign in a group): abandonment alone decides. ``answers_to_come``,
        ``hour``, ``staying``, ``category``, ``hours_ahead``, ``windows_ahead`` and ``in_flight_answers``: see
        ``AbandonmentController.update``."""
        decision = self.abandonment.update(now, answers, abandons, margin_abandons, answers_to_come, hour,
                                           staying, category, hours_ahead, windows_ahead, in_flight_answers)
        if free is None or busy is None:
            self.pace = 1.0
            return decision
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        connects = max(0, (answers - self._seen[0]) - (abandons - self._seen[1]))
        self._seen = (answers, abandons)
        keep = math.exp(-dt / self._measure_tau)
        self._free_s = self._free_s * keep + self._state[0] * dt
        self._busy_s = self._busy_s * keep + self._state[1] * dt
        self._connects = self._connects * keep + connects
        self._day = (self._day[0] + self._state[0] * dt, self._day[1] + self._state[1] * dt,
                     self._day[2] + connects)
        self._state = (free, busy)
        if self.optimize == "abandon" or self.target is None:
            return decision
        error = self._error()
        if error is not None:
            self.level += max(-1.0, min(1.0, error)) * dt / self.time_constant_s
        # the abandonment side binds: no winding up above its α
        self.level = min(max(self.level, self._log_floor), math.log(decision.alpha))
        alpha = math.exp(max(self.level, min(self._log_alpha_min, math.log(decision.alpha))))
        self.pace = min(1.0, math.exp(self.level - self._log_alpha_min))
        return AlphaDecision(alpha, decision.fallback, decision.rate)

    def throttle(self, now: float, progressive: int, most: int, wanted: Callable[[], int]) -> int:
        """Calls to place now. ``progressive``: what progressive dialing would place; ``most``: the lines cap's
        bound; ``wanted()``: what the policy would place (asked only when it can matter: it runs the model).

        At pace 1 that is ``wanted()``. Below, a credit grows by pace × (calls the lines cap allows beyond
        progressive) per second, and whole credits release calls beyond progressive, never more than the
        policy wants."""
        dt = 0.0 if self._throttled is None else min(max(0.0, now - self._throttled), 1.0)
        self._throttled = now
        if self.pace >= 1.0:
            self._credit = 0.0
            return wanted()
        beyond = max(most - progressive, 0)
        self._credit = min(self._credit + self.pace * beyond * dt, max(float(beyond), 1.0))
        if self._credit < 1.0:
            return progressive
        released = min(int(self._credit), max(wanted() - progressive, 0))
        self._credit -= released
        return progressive + released

    def _aim(self, day: float) -> float:
        """Aim the recent figure so that the day's converges to the target (a slow start is made up)."""
        assert self.target is not None
        return min(max(2.0 * self.target - day, 0.8 * self.target), 1.2 * self.target)

    def _error(self) -> float | None:
        """Relative error, positive when the floor should dial harder; None until enough is measured."""
        assert self.target is not None
        if self.optimize == "wait":
            if self._connects < 5.0:
                return None
            self.measured = self._free_s / self._connects
            aim = self._aim(self._day[0] / max(self._day[2], 1.0))
            return 2.0 * (self.measured - aim) / self.target
        logged = self._free_s + self._busy_s
        if logged < 60.0:
            return None
        self.measured = self._busy_s / logged
        aim = self._aim(self._day[1] / max(self._day[0] + self._day[1], 1e-9))
        # a busy factor moves little: 10 % off is worth a full step
        return 10.0 * (aim - self.measured) / self.target
