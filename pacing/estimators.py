"""Online estimates of the list and the floor, fed one observation at a time.

A list changes under the dialer (a new batch of leads, lunch time, evening): estimates forget with a
half-life in *time*, so a busy floor follows a change within minutes. A small team sees few calls in
a few minutes, and estimates from ten dials would make the predictive model jumpy, so forgetting
never goes below a minimum effective number of observations: fast floors follow fast, small floors
follow as fast as their evidence allows.
"""

from __future__ import annotations

import math

import numpy as np

from pacing.snapshot import Estimates


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


class OnlineEstimators:
    """Answer rate, ring time to answer, talk/wrap-up (lognormal handle time) and machine share."""

    def __init__(self, prior: Estimates | None = None, half_life_s: float = 120.0,
                 min_dials: float = 300.0, min_handles: float = 60.0, ring_bins: int = 60) -> None:
        self.prior = prior or Estimates()
        self.ring_bins = ring_bins
        # weight, live answers, machines
        self._dials = _Memory(half_life_s, min_dials, 3)
        # per-second histogram of ring time to answer (live answers)
        self._ring = _Memory(half_life_s, min_dials * max(self.prior.answer_rate, 0.05), ring_bins)
        self._timeout = _Memory(half_life_s, min_dials, 2)        # weight, ring time of no-answers
        # weight, talk, wrap, log(handle), log(handle)²
        self._handle = _Memory(half_life_s, min_handles, 5)
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
        handle = max(talk_s + wrap_s, 0.5)
        log_h = math.log(handle)
        self._handle.add(now, np.array([1.0, talk_s, wrap_s, log_h, log_h * log_h]))

    # ---- beliefs -----------------------------------------------------------------------------

    def estimates(self) -> Estimates:
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
        tw, tsum, wsum, lsum, l2sum = self._handle.sums
        if tw >= 3.0:
            talk, wrap = tsum / tw, wsum / tw
            var = max(l2sum / tw - (lsum / tw) ** 2, 0.0)
            sigma = math.sqrt(var * tw / (tw - 1.0)) if tw > 1.5 else p.handle_sigma
            sigma = min(max(sigma, 0.05), 2.5)
        else:
            talk, wrap, sigma = p.mean_talk_s, p.mean_wrap_s, p.handle_sigma
        timeout = p.no_answer_timeout_s
        if self._timeout.sums[0] >= 3.0:
            timeout = float(self._timeout.sums[1] / self._timeout.sums[0])
        return Estimates(answer_rate=float(answer_rate), mean_ring_to_answer_s=mean_ring, mean_talk_s=float(talk),
                         mean_wrap_s=float(wrap), no_answer_timeout_s=timeout, samples=self.answers,
                         handle_sigma=float(sigma), ring_cdf=ring_cdf, machine_rate=float(machine_rate))
