"""Each call with its own chance of a live answer: the terms both predictive models sum, per call.

With one answer rate p for the list, a call that has rung e seconds is answered by τ with chance
p·(F(e+τ) − F(e)) / (1 − p·F(e)), F the ring-time CDF of answered calls: the models tabulate that once
per estimate. When the dialer knows each call's own p (``Snapshot.ringing_answer_p`` and
``next_answer_p``, from ``pacing.answer_model``), the same formula is evaluated per call instead; the
ring-time law stays the campaign's. The sum is still a Poisson-binomial, which ``pacing.mixed_answers``
already bounds exactly for calls of different laws.

A large floor has ten thousand calls ringing and decides many times a second. Past ``EXACT_TERMS`` calls
the bound reads only each checkpoint's mean and variance of the answers, so ``ringing_sums`` computes
those in one vectorised pass laid out checkpoint by checkpoint: numpy then runs each step over all the
calls at once, where the calls × checkpoints layout ran it nine values at a time. The terms are the same
floats as ``hazard``'s; their sums are pairwise, so they may differ from a sum call after call in the
last bits (benchmarks/results/engine.md: the simulated days came out the same).
"""

from __future__ import annotations

import numpy as np

from pacing.mixed_answers import safe_prefix, safe_prefix_normal
from pacing.predictive import EXACT_TERMS, ring_cdf
from pacing.snapshot import Estimates, Snapshot


def known(snapshot: Snapshot) -> bool:
    """Whether the snapshot carries per-call chances (otherwise every call has estimates.answer_rate)."""
    return len(snapshot.ringing_answer_p) > 0 or len(snapshot.next_answer_p) > 0


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


def new_terms(est: Estimates, p: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``hazard(est, zeros, p, offsets)`` for calls not dialed yet: the same floats, the ring-time law read
    once for all of them (every one has rung 0 s)."""
    cdf = ring_cdf(est)
    grid = np.arange(len(cdf), dtype=float)
    timeout = max(est.no_answer_timeout_s, 1.0)
    at_zero = np.interp(np.zeros(1), grid, cdf)
    rise = np.interp(np.minimum(offsets, timeout), grid, cdf) - at_zero
    table = p[:, None] * rise[None, :]
    table /= np.maximum(1.0 - p * at_zero, 1e-9)[:, None]
    return np.clip(table, 0.0, 1.0, out=table)


def cdf_at(cdf: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.interp(x, arange(len(cdf)), cdf)``, the same floats, without its search: the grid is whole
    seconds, so a point's segment is its integer part (numpy's own steps: slope × (x − left) + cdf[left],
    the grid's points and the ends exactly)."""
    slopes = np.append(np.diff(cdf), 0.0)
    at = np.clip(x, 0.0, float(len(cdf) - 1))
    left = at.astype(np.intp)
    return slopes[left] * (at - left) + cdf[left]


class _Work:
    """Work arrays (checkpoints × calls) kept from one decision to the next. Fresh arrays of this size
    (hundreds of kB each) are mapped and faulted in by the allocator on every decision, which cost more
    than the arithmetic itself."""

    __slots__ = ("left", "x", "y", "z")

    def __init__(self, rows: int, size: int) -> None:
        self.x = np.empty((rows, size))
        self.y = np.empty((rows, size))
        self.z = np.empty((rows, size))
        self.left = np.empty((rows, size), dtype=np.intp)


_work: dict[int, _Work] = {}


def _work_for(rows: int, calls: int) -> _Work:
    work = _work.get(rows)
    if work is None or work.x.shape[1] < calls:
        work = _work[rows] = _Work(rows, max(calls, 2 * (work.x.shape[1] if work is not None else 512)))
    return work


def ringing_sums(est: Estimates, elapsed: np.ndarray, p: np.ndarray,
                 offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Over the ringing calls, per checkpoint but the last: Σ h and Σ h(1 − h), and Σ over the last
    (the horizon: eventual answers), h = ``hazard(est, elapsed, p, offsets)``, the same floats, computed a
    checkpoint at a time over every call, in kept work arrays. Each sum is numpy's pairwise sum along the
    calls; ``hazard(…).sum(axis=0)`` adds the calls one after the other, which costs more than all the
    rest (a chain of ten thousand dependent additions per checkpoint) and may differ from it in the last
    bits."""
    cdf = ring_cdf(est)
    slopes = np.append(np.diff(cdf), 0.0)
    timeout = max(est.no_answer_timeout_s, 1.0)
    calls = elapsed.size
    work = _work_for(offsets.size, calls)
    x, y, z, left = work.x[:, :calls], work.y[:, :calls], work.z[:, :calls], work.left[:, :calls]
    f_e = cdf_at(cdf, elapsed)
    np.add(elapsed[None, :], offsets[:, None], out=x)
    # cdf_at(cdf, min(x, timeout)), in place: the ring timeout and the grid's end are one clip (one pass)
    np.clip(x, 0.0, min(timeout, float(len(cdf) - 1)), out=x)
    np.copyto(left, x, casting="unsafe")               # x ≥ 0: truncation is the integer part
    np.take(slopes, left, out=y, mode="clip")
    np.subtract(x, left, out=x)
    np.multiply(y, x, out=y)
    np.take(cdf, left, out=x, mode="clip")
    np.add(y, x, out=y)
    # hazard's p·(F(e + τ) − F(e)) / max(1 − p·F(e), 10⁻⁹), clipped to [0, 1]
    np.subtract(y, f_e[None, :], out=y)
    np.multiply(p[None, :], y, out=y)
    np.divide(y, np.maximum(1.0 - p * f_e, 1e-9)[None, :], out=y)
    np.clip(y, 0.0, 1.0, out=y)
    late = elapsed >= timeout
    if late.any():
        y[:, late] = 0.0
    answering, squares = y[:-1], z[:-1]
    np.subtract(1.0, answering, out=squares)
    np.multiply(answering, squares, out=squares)
    return answering.sum(axis=1), squares.sum(axis=1), float(y[-1].sum())


def largest_safe_dials_per_call(snapshot: Snapshot, taus: np.ndarray, alpha: float, n_max: int) -> int:
    """``pacing.predictive.largest_safe_dials`` with each call's own chance: the operators free now against
    the answers by each checkpoint τ of the ringing calls and of the next n calls."""
    est = snapshot.estimates
    timeout = max(est.no_answer_timeout_s, 1.0)
    elapsed = np.asarray(snapshot.ringing_elapsed_s, dtype=float)
    p_ring = ringing_p(snapshot)
    offsets = np.append(taus, timeout)
    p_new = next_p(snapshot, n_max)
    new = new_terms(est, p_new, offsets)
    # The law is exact or normal where ``largest_safe_dials`` makes it so (by the calls ringing): on a day
    # when every call has the same chance, each call's own chance then gives the answer of one rate.
    if elapsed.size > EXACT_TERMS:
        # Many calls: the bound reads the sum as normal, so only each checkpoint's mean and variance over
        # the calls are needed.
        mean, var, eventual = ringing_sums(est, elapsed, p_ring, offsets)
        return safe_prefix_normal(mean, var, snapshot.waiting_answered, eventual, snapshot.free_operators,
                                  new[:, :-1], new[:, -1], alpha)
    ringing = hazard(est, elapsed, p_ring, offsets) if elapsed.size else np.zeros((0, offsets.size))
    return safe_prefix(ringing[:, :-1], snapshot.waiting_answered, float(ringing[:, -1].sum()),
                       snapshot.free_operators, new[:, :-1], new[:, -1], alpha, exact_terms=elapsed.size + n_max)
