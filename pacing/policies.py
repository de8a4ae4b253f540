"""Dial modes as pure functions of one snapshot: how many new calls to originate now.

``calls_to_place`` is what the engine calls on every event and tick; each mode is also its own
function so the simulation and the tests can use them directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pacing import per_call_answers
from pacing.modes import MODES
from pacing.predictive import SAFE_HARBOR_S, checkpoints, largest_safe_dials
from pacing.queue_model import largest_safe_dials_queued
from pacing.snapshot import Snapshot

OPTIMIZE = ("abandon", "wait", "busy")     # what the outer controller aims at (pacing.targets)


class PacingSettingsError(ValueError):
    """A pacing setting out of its range; the message names the setting."""


@dataclass(frozen=True)
class PacingSettings:
    mode: str = "progressive"             # 'preview' | 'progressive' | 'ratio' | 'predictive'
    target_abandon: float = 0.025         # setpoint of the outer controller (and α when it is absent)
    abandon_cap: float = 0.03             # legal cap over the window (Ofcom/FTC: 3 %)
    max_lines_per_operator: float = 3.0   # calls not yet with an operator (ringing + waiting) per operator
    ratio: float = 1.5                    # lines per free operator in 'ratio' mode
    warmup_answers: int = 10              # stay progressive until this many live answers were seen
    safe_harbor_s: float = SAFE_HARBOR_S  # an answered call must reach an operator within this
    window_hours: float = 24.0            # legal window of the abandonment rate (24 h, or 720 for 30 days)
    busy_credit: bool = True              # predictive: credit busy operators with when they may free (queue model)
    queue_max_operators: int = 40         # … up to this many logged in; larger floors count free operators only
    optimize: str = "abandon"             # 'abandon' | 'wait' | 'busy' (pacing.targets); the cap binds always
    optimize_target: float | None = None  # abandonment rate, mean operator wait (s) or busy factor (0-1)
    # Smoothness on request: the worst rolling 60 minutes are held under this too (None: only the law's window)
    max_hour_abandon: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PacingSettingsError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}")
        if not 0 < self.target_abandon < self.abandon_cap < 1:
            raise PacingSettingsError("need 0 < target_abandon < abandon_cap < 1 "
                                      f"(got target_abandon={self.target_abandon}, abandon_cap={self.abandon_cap})")
        if self.max_lines_per_operator < 1:
            raise PacingSettingsError(f"max_lines_per_operator must be >= 1, got {self.max_lines_per_operator}")
        if self.ratio < 1:
            raise PacingSettingsError(f"ratio must be >= 1, got {self.ratio}")
        if self.warmup_answers < 0 or self.safe_harbor_s <= 0 or self.window_hours <= 0:
            raise PacingSettingsError("warmup_answers >= 0, safe_harbor_s > 0 and window_hours > 0 are required")
        self._check_target()
        if self.max_hour_abandon is not None and not 0 < self.max_hour_abandon <= self.abandon_cap:
            raise PacingSettingsError(f"max_hour_abandon may only tighten the cap: need 0 < max_hour_abandon <= "
                                      f"abandon_cap ({self.abandon_cap}); got {self.max_hour_abandon}")

    def _check_target(self) -> None:
        if self.optimize not in OPTIMIZE:
            raise PacingSettingsError(f"optimize must be one of {', '.join(OPTIMIZE)}; got {self.optimize!r}")
        value = self.optimize_target
        if value is None:
            if self.optimize != "abandon":
                raise PacingSettingsError(f"optimize={self.optimize} needs optimize_target "
                                          "(mean wait in seconds, or busy factor between 0 and 1)")
        elif self.optimize == "abandon" and not 0 < value < self.abandon_cap:
            raise PacingSettingsError(f"optimize_target for optimize=abandon must be within (0, abandon_cap="
                                      f"{self.abandon_cap}); got {value}")
        elif self.optimize == "wait" and not value > 0:
            raise PacingSettingsError(f"optimize_target for optimize=wait is a mean wait in seconds > 0; got {value}")
        elif self.optimize == "busy" and not 0 < value < 1:
            raise PacingSettingsError(f"optimize_target for optimize=busy is a busy factor within (0, 1); got {value}")


def _in_flight(snapshot: Snapshot) -> int:
    return len(snapshot.ringing_elapsed_s) + snapshot.waiting_answered


def lines_room(snapshot: Snapshot, settings: PacingSettings) -> int:
    """New calls the lines-per-operator cap still allows."""
    lines = math.floor(settings.max_lines_per_operator * snapshot.logged_in + 1e-9)
    return max(0, lines - _in_flight(snapshot))


def preview(snapshot: Snapshot, settings: PacingSettings) -> int:
    """Operators dial by hand from the lead on screen: the pacer originates nothing."""
    return 0


def progressive(snapshot: Snapshot, settings: PacingSettings) -> int:
    """One call per free operator not already covered by a ringing or waiting call; cannot abandon."""
    return max(0, min(snapshot.free_operators - _in_flight(snapshot), lines_room(snapshot, settings)))


def ratio(snapshot: Snapshot, settings: PacingSettings) -> int:
    """Fixed lines per free operator (power dialing)."""
    goal = math.floor(settings.ratio * snapshot.free_operators + 1e-9)
    return max(0, min(goal - _in_flight(snapshot), lines_room(snapshot, settings)))


def predictive(snapshot: Snapshot, settings: PacingSettings, alpha: float | None = None) -> int:
    """Largest n with expected abandoned answers ≤ α·expected answers; progressive while warming up."""
    floor = progressive(snapshot, settings)
    if snapshot.estimates.samples < settings.warmup_answers or snapshot.logged_in == 0:
        return floor
    room = lines_room(snapshot, settings)
    a = settings.target_abandon if alpha is None else alpha
    if a <= 0 or room <= floor:
        return floor
    # Only the operators free now take the answers: exact law of the answers (pacing.predictive). Busy
    # operators can only add supply, so whatever this allows is safe with them too.
    if per_call_answers.known(snapshot):
        # each call with its own chance of an answer (pacing.answer_model): the same bound, per call
        n = per_call_answers.largest_safe_dials_per_call(snapshot, checkpoints(snapshot.estimates), a, room)
    else:
        n = largest_safe_dials(snapshot, a, room)
    if settings.busy_credit and snapshot.estimates.handle_settled and snapshot.busy_elapsed_s \
            and snapshot.logged_in <= settings.queue_max_operators:
        # Small and mid floors are mostly busy: answers are also weighed against the operators who free over
        # the next seconds, step by step (pacing.queue_model), so the dialer pre-dials for calls about to end.
        # Its Poisson counts are coarser than the exact law when the supply is the free operators alone:
        # the larger of the two answers is taken.
        n = max(n, largest_safe_dials_queued(snapshot, a, room, settings.safe_harbor_s))
    # Large floors: many operators are free at any moment and the normal law over them is cheap enough for
    # every event of a 100-operator floor; the outer controller loosens α for the busy ones not credited.
    return max(floor, min(n, room))


def calls_to_place(snapshot: Snapshot, settings: PacingSettings, alpha: float | None = None) -> int:
    """The number of new calls to originate now (never negative)."""
    if settings.mode == "preview":
        return 0
    if settings.mode == "progressive":
        return progressive(snapshot, settings)
    if settings.mode == "ratio":
        return ratio(snapshot, settings)
    return predictive(snapshot, settings, alpha)
