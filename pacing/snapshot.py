"""What a pacing policy sees: one instant of the floor, as plain numbers.

The engine builds a snapshot many times a second; policies are pure functions of it, so the same
policy runs unchanged in the live engine, in ``dialer simulate`` and in the benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Per-call figures: a tuple, or a 1-D array (the engine hands over the arrays its live floor keeps, so a
# decision over ten thousand calls walks none of them in Python). Read them with len() and numpy, never
# by their truth value.
PerCall = tuple[float, ...] | np.ndarray


@dataclass(frozen=True)
class Estimates:
    """Current beliefs about the list and the floor, from the online estimators."""
    answer_rate: float = 0.3          # share of dials answered by a live person
    mean_ring_to_answer_s: float = 10.0
    mean_talk_s: float = 180.0
    mean_wrap_s: float = 10.0
    no_answer_timeout_s: float = 25.0
    samples: int = 0                  # answered calls seen; policies stay progressive while few
    # Shape of the handle time (talk + wrap-up) as a lognormal: sigma of log(handle). Real talk times
    # are right-skewed; an exponential would say a 20-minute call is as likely to end now as a new one.
    handle_sigma: float = 0.8
    # When > 0 the handle time is a gamma of this shape (1: exponential) instead, the family that fitted
    # the observed handle times better (pacing.handle_time).
    handle_shape: float = 0.0
    # Ring time to answer of answered calls, as a CDF sampled every second from 0 s: cdf[k] = P(ring <= k s).
    # Empty: the predictive model assumes a spread around the mean (see pacing.predictive.ring_cdf).
    ring_cdf: tuple[float, ...] = ()
    machine_rate: float = 0.0         # share of dials answered by a machine (not live, never abandoned)
    # False while the handle-time law rests on calls observed for less than twice its mean: its tail is
    # then a guess, and the predictive model does not credit busy operators with freeing (pacing.policies).
    handle_settled: bool = True


@dataclass(frozen=True)
class Snapshot:
    free_operators: int
    busy_elapsed_s: tuple[float, ...] = ()      # per busy operator: time since talk began (talk+wrap)
    ringing_elapsed_s: PerCall = ()             # per call in flight not yet answered: ring time so far
    waiting_answered: int = 0                   # answered calls not yet connected to an operator
    estimates: Estimates = field(default_factory=Estimates)
    # Each call's own chance of a live answer, known when it was dialed (pacing.answer_model): one per
    # ringing call, in the order of ringing_elapsed_s, and one per call the dialer would place next, in
    # order. Empty: every call has estimates.answer_rate (the model of one rate for the whole list).
    ringing_answer_p: PerCall = ()
    next_answer_p: tuple[float, ...] = ()

    @property
    def logged_in(self) -> int:
        return self.free_operators + len(self.busy_elapsed_s)
