"""Each call with its own chance of a live answer: the terms both predictive models sum, per call.

With one answer rate p for the list, a call that has rung e seconds is answered by τ with chance
p·(F(e+τ) − F(e)) / (1 − p·F(e)), F the ring-time CDF of answered calls: the models tabulate that once
per estimate. When the dialer knows each call's own p (``Snapshot.ringing_answer_p`` and
``next_answer_p``, from ``pacing.answer_model``), the same formula is evaluated per call instead; the
ring-time law stays the campaign's. The sum is still a Poisson-binomial, which ``pacing.mixed_answers``
already bounds exactly for calls of different laws.
"""

from __future__ import annotations

import numpy as np

from pacing.mixed_answers import safe_prefix
from pacing.predictive import ring_cdf
from pacing.snapshot import Estimates, Snapshot


def known(snapshot: Snapshot) -> bool:
    """Whether the snapshot carries per-call chances (otherwise every call has estimates.answer_rate)."""
    return bool(snapshot.ringing_answer_p or snapshot.next_answer_p)


def ringing_p(snapshot: Snapshot) -> np.ndarray:
    """The ringing calls' own chances (the estimate's rate where the snapshot has none)."""
    if len(snapshot.ringing_answer_p) == len(snapshot.ringing_elapsed_s):
        return np.clip(np.asarray(snapshot.ringing_answer_p, dtype=float), 1e-4, 1.0)
    return np.full(len(snapshot.ringing_elapsed_s), min(max(snapshot.estimates.answer_rate, 1e-4), 1.0))


def next_p(snapshot: Snapshot, n: int) -> np.ndarray:
    """The chances of the next ``n`` calls: those the snapshot names, then the last of them (or the
    estimate's rate) for the rest: the leads after the known ones are most likely of the same kind."""
    given = np.clip(np.asarray(snapshot.next_answer_p[:n], dtype=float), 1e-4, 1.0)
    fill = float(given[-1]) if given.size else min(max(snapshot.estimates.answer_rate, 1e-4), 1.0)
    return np.concatenate((given, np.full(max(n - given.size, 0), fill)))


def hazard(est: Estimates, elapsed: np.ndarray, p: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """P(live answer between elapsed and elapsed + offset | no answer yet), calls × offsets, each call
    with its own p; a call at the ring timeout is released (0)."""
    cdf = ring_cdf(est)
    grid = np.arange(len(cdf), dtype=float)
    timeout = max(est.no_answer_timeout_s, 1.0)
    e = elapsed[:, None]
    f_e = np.interp(e, grid, cdf)
    f_et = np.interp(np.minimum(e + offsets[None, :], timeout), grid, cdf)
    table = np.clip(p[:, None] * (f_et - f_e) / np.maximum(1.0 - p[:, None] * f_e, 1e-9), 0.0, 1.0)
    table[elapsed >= timeout] = 0.0
    return table


def largest_safe_dials_per_call(snapshot: Snapshot, taus: np.ndarray, alpha: float, n_max: int) -> int:
    """``pacing.predictive.largest_safe_dials`` with each call's own chance: the operators free now against
    the answers by each checkpoint τ of the ringing calls and of the next n calls."""
    est = snapshot.estimates
    timeout = max(est.no_answer_timeout_s, 1.0)
    elapsed = np.asarray(snapshot.ringing_elapsed_s, dtype=float)
    p_ring = ringing_p(snapshot)
    offsets = np.append(taus, timeout)
    ringing = hazard(est, elapsed, p_ring, offsets) if elapsed.size else np.zeros((0, offsets.size))
    p_new = next_p(snapshot, n_max)
    new = hazard(est, np.zeros(n_max), p_new, offsets)
    return safe_prefix(ringing[:, :-1], snapshot.waiting_answered, float(ringing[:, -1].sum()),
                       snapshot.free_operators, new[:, :-1], new[:, -1], alpha)
