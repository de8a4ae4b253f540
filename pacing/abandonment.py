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

α corrects the model's bias, and the bias belongs to what is dialed: a category the answer model has just
met is dialed carefully, few abandon, and α grows to make up for it. Carried over to the next category of
the strategy, that α dials it far too hard for the first half hour. So the integral is kept per category
(the one dialed next, told by the caller): a category met for the first time starts at the setpoint (or
lower, if the window runs hot), and one met again takes up its own α where it left it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pacing.window_bound import confident_target


def cap_budget(answers: float, cap: float, start_allowance: float = 2.0) -> float:
    """The abandons a window of ``answers`` may hold under the cap. A window of fewer than 1/cap answers
    cannot express the cap at all (one abandon in 20 answers is 5 %): it is allowed ``start_allowance``
    abandons, which a day of a few hundred answers dilutes far below the cap."""
    return max(cap * (answers + 1), start_allowance)


def recent_aim(goal: float, window_rate: float, rest_target: float | None = None) -> float:
    """The recent rate the integral aims at for the window to end at ``goal``: the goal, corrected by how far
    the window is from it (within a quarter of the goal and 1.2 times it). ``rest_target``: the rate the
    confidence bound allows the rest of the window, when ``goal`` is the bound's.

    Behind the bound's goal the rest may run at the bound's own target: the bound has counted the window
    so far, and its goal is the rate the window ends at if the rest runs at that target, itself pulled down
    by a slow start. The correction alone, at most 1.2 times that goal, lands the window below it: a small
    team whose first abandons held it progressive for an hour never made the hour up."""
    aim = min(max(goal + (goal - window_rate), 0.25 * goal), 1.2 * goal)
    if rest_target is not None and window_rate < goal:
        aim = max(aim, rest_target)
    return aim


def window_room(answers: int, abandons: int, cap: float, windows_ahead: Sequence[tuple[float, int]] | np.ndarray = (),
                start_allowance: float = 2.0) -> float:
    """The abandons the window may still take under the cap: the least of the window now and of those ending over
    the next minutes (``windows_ahead``: their answers and abandons, pacing.hour_ahead)."""
    room = cap_budget(answers, cap, start_allowance) - abandons
    ahead = np.asarray(windows_ahead, dtype=float).reshape(-1, 2)
    if len(ahead):
        budgets = np.maximum(cap * (ahead[:, 0] + 1.0), start_allowance)     # cap_budget, per row
        room = min(room, float((budgets - ahead[:, 1]).min()))
    return room


def falls_back(room: float, margin: float, was: bool) -> bool:
    """Dial progressive (which cannot abandon): from less than ``margin`` abandons of room under the cap,
    until the room is one abandon more than that (no flapping on every answer)."""
    return room < margin or (was and room < margin + 1.0)


@dataclass(frozen=True)
class AlphaDecision:
    alpha: float
    fallback: bool          # dial progressive: the window is too close to the cap
    rate: float             # measured abandonment of the window (abandons / live answers)


class AbandonmentController:
    def __init__(self, setpoint: float = 0.025, cap: float = 0.03, time_constant_s: float = 2400.0,
                 alpha_range: tuple[float, float] = (0.02, 12.0), margin_abandons: float = 1.0,
                 min_answers: int = 10, initial_alpha: float | None = None,
                 soft_room: float = 3.0, start_allowance: float = 2.0, max_hour: float | None = None,
                 ceiling: float | None = None) -> None:
        if not 0 < setpoint < cap < 1:
            raise ValueError(f"need 0 < setpoint ({setpoint}) < cap ({cap}) < 1")
        if max_hour is not None and not 0 < max_hour <= cap:
            raise ValueError(f"max_hour_abandon must be within (0, cap={cap}]; got {max_hour}")
        self.setpoint = setpoint
        self.cap = cap
        self.max_hour = max_hour
        # the manager's own abandonment target, when one was set: the bound may aim lower, never higher
        self.ceiling = ceiling
        self.bound: float | None = None      # the window's setpoint from the confidence bound, when known
        self.rest_target: float | None = None   # the bound's rate for the rest of the window, when known
        self._bound_key: tuple[int, int, int, int | None] | None = None
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
        self.category: str | None = None
        self._by_category: dict[str, tuple[float, tuple[float, float]]] = {}   # log α and recent counts
        # the window's answers of the last time constant (exponentially weighted) and since when it counts:
        # the answers a decision's mistake runs for before the integral has corrected it (the bound's reach)
        self._pace = 0.0
        self._pace_seen = 0
        self._pace_since: float | None = None

    def window_setpoint(self, answers: int, abandons: int, answers_to_come: float | None,
                        answers_in_reach: float | None = None) -> float:
        """The window's setpoint: with the answers still to come known, from the confidence bound
        (pacing.window_bound) as the rate the window ends at if the rest runs at the bound's target;
        otherwise the fixed setpoint. ``answers_in_reach``: those of the answers to come that are dialed
        before the controller corrects a mistake (None: all, the whole rest of the window as one gamble)."""
        if answers_to_come is None or answers_to_come < 1.0:
            # no outlook, or none yet (no pace measured) or none left: the fixed setpoint
            self.bound = self.rest_target = None
            return self.setpoint
        reach = None if answers_in_reach is None else round(answers_in_reach)
        key = (answers, abandons, round(answers_to_come), reach)
        if key != self._bound_key:
            target = confident_target(self.cap, answers, abandons, answers_to_come, answers_in_reach=reach)
            rate = (abandons + target * answers_to_come) / max(answers + answers_to_come, 1.0)
            self.bound = min(max(rate, 0.1 * self.setpoint), 0.99 * self.cap, self.ceiling or 1.0)
            self.rest_target = min(target, 0.99 * self.cap, self.ceiling or 1.0)
            self._bound_key = key
        assert self.bound is not None
        return self.bound

    def _reach(self, now: float, staying_answers: int, keep: float) -> float | None:
        """The answers one time constant holds at the window's recent pace: how far a decision's gamble runs
        before the integral has moved α by a full step. The answers counted are those that stay in the window
        (a rolling window's oldest leave meanwhile, and their leaving is no pace). Early in the day the sum is
        scaled up to the time it has had (as the pace so far); None before there is any pace."""
        if self._pace_since is None:
            self._pace_since, self._pace_seen = now, staying_answers
            return None
        self._pace = self._pace * keep + max(0, staying_answers - self._pace_seen)
        self._pace_seen = staying_answers
        filled = 1.0 - math.exp(-(now - self._pace_since) / self.time_constant_s)
        return self._pace / filled if filled > 1e-6 and self._pace > 0 else None

    def _switch(self, category: str | None) -> None:
        """Keep the integral of the category left, take up that of the one dialed now."""
        if category is None or category == self.category:
            return
        if self.category is not None:
            self._by_category[self.category] = (self.log_alpha, self._recent)
        if category in self._by_category:
            self.log_alpha, self._recent = self._by_category[category]
        else:
            self.log_alpha = min(self.log_alpha, math.log(self.setpoint))
            self._recent = (0.0, 0.0)
        self.category = category

    def update(self, now: float, answers: int, abandons: int, margin_abandons: float | None = None,
               answers_to_come: float | None = None, hour: tuple[int, int] | None = None,
               staying: tuple[int, int] | None = None, category: str | None = None,
               hours_ahead: Sequence[tuple[float, int]] = (),
               windows_ahead: Sequence[tuple[float, int]] | np.ndarray = (),
               in_flight_answers: float | None = None) -> AlphaDecision:
        """Feed the window's live answers and abandons; get the α to dial with now.

        The integral acts on the *recent* rate (an exponential average over ``time_constant_s``) aiming at
        the setpoint, corrected by how far the legal window is from it, so an early burst does not keep
        α pinned down for hours. ``margin_abandons``: abandons that may still come from calls already in
        flight; the controller falls back once the room left under the cap is smaller than that.
        ``answers_to_come``: live answers still expected in the window (its hours and the pace): the
        setpoint then comes from the confidence bound. ``hour``: (answers, abandons) of the last 60
        minutes, guarded like the window against ``max_hour`` when that is set. ``staying``: (answers,
        abandons) of the window that are still in it when the answers to come are in (a rolling window's
        oldest calls leave it meanwhile); the bound counts these, not the window's now (default: all stay).
        ``category``: what is dialed next; α is integrated per category. ``hours_ahead``: (answers, abandons)
        of the rolling hours that end over the next minutes if nothing more is abandoned
        (pacing.hour_ahead); with ``max_hour`` the tightest of them and ``hour`` rules. ``windows_ahead``: the
        same of the legal window (a rolling window's oldest answers leave it); the tightest of them and the
        window now rules the fall-back. ``in_flight_answers``: the live answers expected from the calls ringing
        and those waiting for an operator; with ``max_hour`` the hour keeps room for every one of them.
        """
        self._switch(category)
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
        budget = cap_budget(answers, self.cap, self.start_allowance)
        room = window_room(answers, abandons, self.cap, windows_ahead, self.start_allowance)
        counted = staying or (answers, abandons)
        setpoint = self.window_setpoint(*counted, answers_to_come, self._reach(now, counted[0], keep))
        # Early in the window a couple of abandons weigh a lot: aim below the budget by the margin and the
        # soft room, in abandons, so that dialing at the aim does not run into the fall-back.
        goal = max(min(setpoint, (budget - margin - self.soft_room) / max(answers, 1)), 0.1 * self.setpoint)
        if self.max_hour is not None and hour is not None:
            # the last 60 minutes are a second window, with its own (tighter) cap: whichever has less room rules
            # An hour of a small team holds a few dozen answers: the day's start allowance of two abandons would
            # be 5 % of it. One is allowed, and after it the hour needs its own share (1/max_hour answers).
            hour_room = min(max(self.max_hour * (a + 1), 1.0) - b for a, b in (hour, *hours_ahead))
            # On a saturated floor the answers in flight find no operator together (six abandons within 6 s of a
            # fall-back, 100 operators), and the fall-back cannot stop them: the hour, a smoothness a manager
            # asked for, keeps room for all of them (the law's window keeps the controller's margin).
            hour_margin = max(margin, 1.0 + (in_flight_answers or 0.0))
            room = min(room, hour_room - (hour_margin - margin))
            goal = min(goal, max(0.8 * self.max_hour, 0.1 * self.setpoint))
        # No integration while falling back: progressive abandons nothing, and an integral that kept growing
        # meanwhile would come back with a burst of abandons that sends it straight back (wind-up).
        if answers >= self.min_answers and self._recent[0] >= 5.0 and not self.fallback:
            recent = self._recent[1] / self._recent[0]
            # aim the recent rate so that the window converges to the goal
            # (the bound's rate for the rest only while the goal is the bound's, not the budget's or the hour's)
            aim = recent_aim(goal, rate, self.rest_target if goal >= setpoint else None)
            error = (aim - recent) / goal
            self.log_alpha += max(-1.0, min(1.0, error)) * dt / self.time_constant_s
            self.log_alpha = min(max(self.log_alpha, math.log(self.low)), math.log(self.high))
        self.fallback = falls_back(room, margin, self.fallback)
        # Approach the cap gently: with little room left α shrinks with it, so the dialer slows down before
        # the fall-back has to stop it (bang-bang between the two wastes the operators' time).
        soften = min(1.0, max(0.05, (room - margin) / self.soft_room))
        return AlphaDecision(math.exp(self.log_alpha) * soften, self.fallback, rate)
