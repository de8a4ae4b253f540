"""Online estimates of the list and the floor, fed one observation at a time.

A list changes under the dialer (a new batch of leads, lunch time, evening): estimates forget with a
half-life in *time*, so a busy floor follows a change within minutes. A small team sees few calls in
a few minutes, and estimates from ten dials would make the predictive model jumpy, so forgetting
never goes below a minimum effective number of observations: fast floors follow fast, small floors
follow as fast as their evidence allows.

The handle time is learnt apart (``HandleTimes``): the queue model's credit for busy operators hangs on
its whole law, and learning it from finished calls alone has two defects. Early in the day only short
calls have finished, so the estimate reads far too short and the model credits operators too early,
piling abandons into the first half hour (benchmarks/results/pacing-notes.md); and sixty finished
calls of an exponential law give its mean to ±13 % only (one standard error: 1/√60).
"""

from __future__ import annotations

import math

import numpy as np

from pacing.handle_time import censored_moments, fit_shape
from pacing.snapshot import Estimates

_SHIFT_Z = 3.0          # standard errors of the mean log handle time that make a change of law
_SHIFT_KEEP = 0.05      # what the long memories keep of the old law when it changed


class _Memory:
    """Exponentially forgotten sums of a few quantities (weight, x, x², …)."""

    def __init__(self, half_life_s: float, min_effective: float, width: int) -> None:
        self.tau = half_life_s / math.log(2)
        self.floor = 1.0 - 1.0 / min_effective
        self.sums = np.zeros(width)
        self.last: float | None = None

    def add(self, now: float, values: np.ndarray) -> None:
        if self.last is not None:
            keep = max(math.exp(-max(0.0, now - self.last) / self.tau), self.floor)
            self.sums *= keep
        self.last = now
        self.sums += values


class HandleTimes:
    """The handle-time law (talk + wrap-up), learnt from finished calls *and* the calls in progress.

    Calls are weighted by when they *started* (a finished call enters with weight exp(−h/τ), as if it had
    been added at its start), so the memory describes the cohort of calls started lately; those of the
    cohort still in progress are right-censored observations, each adding what it is expected to add
    given it has lasted so far (an EM step under the previous fit: ``censored_moments``). Repeated on
    every estimate, this converges to the censored maximum likelihood: no bias early in the day, when
    only short calls have ended, nor in steady state. The memory is long (half-life ``half_life_s``,
    default 1 hour) against the noise; a change of law is caught by comparing the mean log handle time of a
    short memory (``fast_half_life_s``, at least ``min_fast`` calls) with that of a long one: beyond
    ``_SHIFT_Z`` standard errors the cohort keeps only ``_SHIFT_KEEP`` of the past, and the long end-time
    memory follows the short one for its next 4 × ``min_fast`` calls.

    Without the calls in progress (``estimate(())``) it falls back to the finished calls of the long
    memory by end time, which is unbiased in steady state only.
    """

    def __init__(self, prior: Estimates, half_life_s: float = 3600.0, fast_half_life_s: float = 120.0,
                 min_fast: float = 60.0) -> None:
        self.prior = prior
        self.tau = half_life_s / math.log(2)
        # weight, talk, wrap, log(handle), log(handle)²
        self._fast = _Memory(fast_half_life_s, min_fast, 5)       # by end time: change detection
        self._slow = _Memory(half_life_s, min_fast, 5)            # by end time: change detection, fall-back
        self._cohort = _Memory(half_life_s, 1.0, 5)               # by start time (pure time decay)
        self._law = prior
        self.min_fast = min_fast
        self._mirror = 0.0
        self.longest = 0.0         # the longest finished handle time seen

    def observe(self, now: float, talk_s: float, wrap_s: float) -> None:
        handle = max(talk_s + wrap_s, 0.5)
        self.longest = max(self.longest, handle)
        log_h = math.log(handle)
        row = np.array([1.0, talk_s, wrap_s, log_h, log_h * log_h])
        self._fast.add(now, row)
        self._slow.add(now, row)
        self._cohort.add(now, row * math.exp(-handle / self.tau))
        fast, slow = self._fast.sums, self._slow.sums
        if fast[0] >= 10.0:
            mean_log = fast[3] / fast[0]
            sd_log = math.sqrt(max(fast[4] / fast[0] - mean_log * mean_log, 1e-6))
            if abs(mean_log - slow[3] / slow[0]) > _SHIFT_Z * sd_log / math.sqrt(fast[0]):
                self._cohort.sums *= _SHIFT_KEEP
                self._mirror = 4.0 * self.min_fast   # until the short memory has forgotten the old law
        if self._mirror > 0:
            self._slow.sums = fast.copy()
            self._mirror -= 1

    def settled(self, in_progress: tuple[float, ...], mean_handle_s: float) -> bool:
        """Whether some call has been watched for twice the estimated mean handle time.

        Until then the fit extrapolates its tail from short observations and reads the mean too short;
        the queue model, crediting busy operators with freeing that soon, dials ahead for operators who are
        not about to free, and early abandons can use up the abandonment controller's start allowance,
        past which it dials progressive until the window has room again (benchmarks/results/pacing-notes.md)."""
        # a plain bool: the estimates travel in the views' JSON snapshot, which numpy's bool_ cannot enter
        return bool(max(self.longest, max(in_progress, default=0.0)) >= 2.0 * mean_handle_s)

    def estimate(self, in_progress: tuple[float, ...]) -> tuple[float, float, float, float]:
        """(mean talk, mean wrap-up, sigma of log handle, gamma shape or 0)."""
        cohort = self._cohort.sums
        if in_progress and cohort[0] >= 3.0:
            elapsed = np.asarray(in_progress, dtype=float)
            w = np.exp(-elapsed / self.tau)
            e_h, e_log, e_log2 = censored_moments(self._law, elapsed)
            weight, talk, wrap, log_sum, log2_sum = cohort
            total = weight + float(w.sum())
            mean = (talk + wrap + float(w @ e_h)) / total
            mean_log = (log_sum + float(w @ e_log)) / total
            var_log = (log2_sum + float(w @ e_log2)) / total - mean_log * mean_log
            mean_wrap = wrap / weight
        else:
            weight, talk, wrap, log_sum, log2_sum = self._slow.sums
            if weight < 3.0:
                p = self.prior
                return p.mean_talk_s, p.mean_wrap_s, p.handle_sigma, p.handle_shape
            mean, mean_log, mean_wrap = (talk + wrap) / weight, log_sum / weight, wrap / weight
            var_log = log2_sum / weight - mean_log * mean_log
            total = weight
        var_log *= total / (total - 1.0) if total > 1.5 else 1.0
        sigma, shape = fit_shape(mean, mean_log, var_log)
        talk_mean = max(mean - mean_wrap, 0.0)
        if in_progress:          # the next EM step starts from this law
            self._law = Estimates(mean_talk_s=talk_mean, mean_wrap_s=mean_wrap, handle_sigma=sigma,
                                  handle_shape=shape)
        return talk_mean, mean_wrap, sigma, shape


class OnlineEstimators:
    """Answer rate, ring time to answer, talk/wrap-up (``HandleTimes``) and machine share."""

    def __init__(self, prior: Estimates | None = None, half_life_s: float = 120.0,
                 min_dials: float = 300.0, min_handles: float = 60.0, ring_bins: int = 60,
                 handle_half_life_s: float = 3600.0) -> None:
        self.prior = prior or Estimates()
        self.ring_bins = ring_bins
        # weight, live answers, machines
        self._dials = _Memory(half_life_s, min_dials, 3)
        # per-second histogram of ring time to answer (live answers)
        self._ring = _Memory(half_life_s, min_dials * max(self.prior.answer_rate, 0.05), ring_bins)
        self._timeout = _Memory(half_life_s, min_dials, 2)        # weight, ring time of no-answers
        self._handle = HandleTimes(self.prior, handle_half_life_s, half_life_s, min_handles)
        self.answers = 0

    # ---- observations ------------------------------------------------------------------------

    def observe_dial(self, now: float, answered: bool, ring_s: float, machine: bool = False) -> None:
        """A dial ended ringing: answered by a person (``answered``), by a machine, or not at all."""
        live = answered and not machine
        self._dials.add(now, np.array([1.0, float(live), float(answered and machine)]))
        if live:
            self.answers += 1
            row = np.zeros(self.ring_bins)
            row[min(int(max(ring_s, 0.0)), self.ring_bins - 1)] = 1.0
            self._ring.add(now, row)
        elif not answered and ring_s >= 0.5 * self.prior.no_answer_timeout_s:
            self._timeout.add(now, np.array([1.0, ring_s]))

    def observe_machine(self, now: float, ring_s: float) -> None:
        self.observe_dial(now, True, ring_s, machine=True)

    def observe_handle(self, now: float, talk_s: float, wrap_s: float) -> None:
        self._handle.observe(now, talk_s, wrap_s)

    # ---- beliefs -----------------------------------------------------------------------------

    def estimates(self, in_progress: tuple[float, ...] = ()) -> Estimates:
        """Current beliefs. ``in_progress``: how long each call still with an operator has lasted (talk and
        wrap-up so far); without them the handle time is learnt from finished calls only (see HandleTimes)."""
        p = self.prior
        weight, live, machines = self._dials.sums
        answer_rate = (live + 2.0 * p.answer_rate) / (weight + 2.0)     # two prior dials: no 0/0
        machine_rate = (machines + 2.0 * p.machine_rate) / (weight + 2.0)
        ring = self._ring.sums
        if ring.sum() >= 3.0:
            # bin k holds rings in [k, k+1): cdf at k+1 seconds; linear inside a bin
            cdf = np.concatenate(([0.0], np.cumsum(ring) / ring.sum()))
            ring_cdf = tuple(float(x) for x in cdf)
            mean_ring = float(np.dot(ring, np.arange(self.ring_bins) + 0.5) / ring.sum())
        else:
            ring_cdf, mean_ring = p.ring_cdf, p.mean_ring_to_answer_s
        talk, wrap, sigma, shape = self._handle.estimate(in_progress)
        settled = self._handle.settled(in_progress, talk + wrap)
        timeout = p.no_answer_timeout_s
        if self._timeout.sums[0] >= 3.0:
            timeout = float(self._timeout.sums[1] / self._timeout.sums[0])
        return Estimates(answer_rate=float(answer_rate), mean_ring_to_answer_s=mean_ring, mean_talk_s=float(talk),
                         mean_wrap_s=float(wrap), no_answer_timeout_s=timeout, samples=self.answers,
                         handle_sigma=float(sigma), handle_shape=shape, ring_cdf=ring_cdf,
                         machine_rate=float(machine_rate), handle_settled=settled)
