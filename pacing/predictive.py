"""The predictive model over the operators free now: how many new calls keep expected abandoned answers
within α of answers.

Over the next seconds (the time a new call needs to be answered) we look at a few checkpoints τ. At each,
every call in flight is a Bernoulli "answered by τ" (its chance given how long it has rung already) and
each new call a Bernoulli with the answer rate times the ring-time CDF. Answered calls beyond the free
operators are the ones that find nobody:

    overflow(τ) = (answers by τ − (free − already waiting))⁺

Its expectation comes from the exact distribution of the sum of those Bernoullis (a Poisson-binomial).
The convolution is done as a product of their probability generating functions on the unit circle
and one inverse FFT, for every candidate n at once: exact (to rounding), and cheap enough to run on
every event. Expected abandons are the largest expectation over the checkpoints; the answer is the
largest n with expected abandons ≤ α × expected answers.

Busy operators are not counted here: crediting them needs the order in time of answers and frees, which
``pacing.queue_model`` steps through (comparing cumulative answers with cumulative frees at checkpoints,
as this module once did, under-predicted abandonment several times over). Whatever this allows is safe with them too.

Up to ``EXACT_TERMS`` Bernoulli terms (small floors, where the law is far from normal and exactness
matters) the convolution runs in plain Python, which beats numpy's per-call overhead at that size; an
FFT version of the same exact law is kept for any size (``exact_terms=``). Beyond, the sum is summarized
by its mean and variance (normal law, Lyapunov CLT), read from the model's tables: at that size the CLT
error is far below the noise of the measured rate, which the outer controller (pacing.abandonment)
corrects anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from pacing.snapshot import Estimates, Snapshot

EXACT_TERMS = 20
SAFE_HARBOR_S = 2.0
_CHECKPOINT_QUANTILES = (0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 0.999)
_RING_STEP_S = 0.1


def ring_cdf(estimates: Estimates) -> np.ndarray:
    """CDF of ring time to answer (live answers) on a 1-second grid from 0 s."""
    if len(estimates.ring_cdf) >= 2:
        return np.asarray(estimates.ring_cdf, dtype=float)
    mean = max(estimates.mean_ring_to_answer_s, 1.0)
    high = min(1.5 * mean, estimates.no_answer_timeout_s)
    grid = np.arange(math.ceil(high) + 2, dtype=float)
    return np.clip((grid - 0.5 * mean) / max(high - 0.5 * mean, 1e-9), 0.0, 1.0)


@dataclass(frozen=True)
class _Model:
    """What depends on the estimates only, computed once per estimates object."""
    taus: np.ndarray               # checkpoints (s after now)
    new_p: np.ndarray              # P(a new call is answered live by τ), per checkpoint
    ring_table: np.ndarray         # P(answer within τ | rang e), rows e = 0, 0.1, 0.2 … timeout
    ring_rows: list[list[float]]   # ring_table as Python lists, for the small-floor path
    taus_list: list[float]
    new_p_list: list[float]
    new_answer: float              # P(a new call is answered live within the horizon)
    ring_var: np.ndarray           # p(1−p) of ring_table, for the normal law


def _build(est: Estimates) -> _Model:
    cdf = ring_cdf(est)
    grid = np.arange(len(cdf), dtype=float)
    top = cdf[-1]
    taus = np.interp(np.asarray(_CHECKPOINT_QUANTILES) * top, cdf, grid)
    taus = np.maximum(taus, 0.25)
    p = min(max(est.answer_rate, 1e-4), 1.0)
    timeout = max(est.no_answer_timeout_s, 1.0)
    e = np.arange(0.0, timeout + _RING_STEP_S, _RING_STEP_S)[:, None]
    f_e = np.interp(e, grid, cdf)
    f_et = np.interp(np.minimum(e + taus[None, :], timeout), grid, cdf)
    denom = np.maximum(1.0 - p * f_e, 1e-9)
    table = np.clip(p * (f_et - f_e) / denom, 0.0, 1.0)
    table[-1] = 0.0                  # at the timeout the dialer releases the call
    new_p = p * np.interp(taus, grid, cdf)
    return _Model(taus, new_p, table, table.tolist(), taus.tolist(), new_p.tolist(), float(new_p[-1]),
                  table * (1.0 - table))


_models: dict[tuple[object, ...], _Model] = {}
_last: tuple[Estimates, _Model] | None = None


def _signature(est: Estimates) -> tuple[object, ...]:
    """Estimates that differ by less than this describe the same world: reuse the model's tables."""
    return (round(est.answer_rate, 3), round(est.no_answer_timeout_s, 0), round(est.mean_ring_to_answer_s, 1),
            tuple(round(x, 2) for x in est.ring_cdf))


def _model(est: Estimates) -> _Model:
    global _last
    if _last is not None and _last[0] is est:
        return _last[1]
    key = _signature(est)
    model = _models.get(key)
    if model is None:
        if len(_models) >= 32:
            _models.pop(next(iter(_models)))
        model = _models[key] = _build(est)
    _last = (est, model)
    return model


def checkpoints(estimates: Estimates) -> np.ndarray:
    """The checkpoints τ (s after now) at which the model weighs answers against the free operators."""
    return _model(estimates).taus


def answer_probabilities(model: _Model, ringing_elapsed: np.ndarray) -> np.ndarray:
    """P(live answer within τ | still ringing after e), shape (calls, checkpoints)."""
    rows = np.minimum((ringing_elapsed / _RING_STEP_S + 0.5).astype(np.intp), len(model.ring_table) - 1)
    return model.ring_table[rows]


def _normal_losses(mean0: np.ndarray, var0: np.ndarray, new_p: np.ndarray, operators: int,
                   n: np.ndarray) -> np.ndarray:
    """E[(X_n − operators)⁺] under the normal law, shape (len(n), checkpoints)."""
    mean = mean0[None, :] + n[:, None] * new_p[None, :]
    var = var0[None, :] + n[:, None] * (new_p * (1.0 - new_p))[None, :]
    sd = np.sqrt(np.maximum(var, 1e-12))
    z = (operators - mean) / sd
    return sd * np.exp(-0.5 * z * z) * _INV_SQRT_2PI + (mean - operators) * ndtr(-z)


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


_unit_circle: dict[int, np.ndarray] = {}


class _ExactSum:
    """The exact law of (Bernoulli terms + n new calls), by generating functions and an inverse FFT."""

    def __init__(self, terms: np.ndarray, new_p: np.ndarray, operators: int, n_max: int) -> None:
        size = terms.shape[0] + n_max + 1
        self.length = 1 << max(size - 1, 1).bit_length()
        z = _unit_circle.get(self.length)
        if z is None:
            z = _unit_circle[self.length] = np.exp(-2j * np.pi * np.arange(self.length // 2 + 1) / self.length)
        self.base = np.prod(1.0 - terms[:, :, None] + terms[:, :, None] * z, axis=0)   # (K, L/2+1)
        self.new = 1.0 - new_p[:, None] + new_p[:, None] * z
        self.weights = np.maximum(np.arange(self.length, dtype=float) - operators, 0.0)

    def losses(self, first: int, last: int) -> np.ndarray:
        """Expected overflow (worst checkpoint) for n = first … last, in one batched inverse FFT."""
        powers = self.new[None, :, :] ** np.arange(first, last + 1)[:, None, None]
        pmf = np.fft.irfft(self.base[None] * powers, n=self.length, axis=-1)
        return (pmf @ self.weights).max(axis=1)


def _add_term(pmf: list[float], p: float) -> list[float]:
    q = 1.0 - p
    out = [x * q for x in pmf]
    out.append(0.0)
    for j, x in enumerate(pmf):
        out[j + 1] += x * p
    return out


def _tail(pmf: list[float], operators: int) -> float:
    return sum((x - operators) * pmf[x] for x in range(max(operators + 1, 0), len(pmf)))


def _largest_small(model: _Model, snapshot: Snapshot, alpha: float, n_max: int) -> int:
    """Exact Poisson-binomial by direct convolution, in plain Python: fastest for a handful of terms."""
    rows = model.ring_rows
    last = len(rows) - 1
    k = len(model.taus_list)
    operators = snapshot.free_operators - snapshot.waiting_answered
    base_answers = float(snapshot.waiting_answered)
    pmfs = [[1.0] for _ in range(k)]
    for e in snapshot.ringing_elapsed_s:
        row = rows[min(int(e / _RING_STEP_S + 0.5), last)]
        base_answers += row[-1]
        for c in range(k):
            if row[c] > 1e-12:
                pmfs[c] = _add_term(pmfs[c], row[c])
    new_answer = model.new_p_list[-1]
    n = 0
    while True:
        losses = max(_tail(pmf, operators) for pmf in pmfs)
        if losses > alpha * (base_answers + n * new_answer) + 1e-9:
            return n - 1
        if n == n_max:
            return n
        pmfs = [_add_term(pmf, model.new_p_list[c]) for c, pmf in enumerate(pmfs)]
        n += 1


SMALL_TERMS = 20


def _mean_bound(model: _Model, mean0: np.ndarray, operators: int, alpha: float, base_answers: float,
                n_max: int) -> int:
    """E[(X−K)⁺] ≥ E[X] − K: past the n where the mean alone breaks the bound nothing can pass."""
    n_hi = n_max
    for c, p in enumerate(model.new_p_list):
        slope = p - alpha * model.new_answer
        if slope > 0:
            n_hi = min(n_hi, max(0, math.floor((operators + alpha * base_answers - mean0[c]) / slope) + 1))
    return n_hi


def largest_safe_dials(snapshot: Snapshot, alpha: float, n_max: int, exact_terms: int = EXACT_TERMS) -> int:
    """Largest n in [0, n_max] with expected abandons ≤ α·expected answers, counting only the operators free
    now (``snapshot.busy_elapsed_s`` is not read); −1 if even 0 exceeds it."""
    if snapshot.free_operators == 0:
        return -1
    model = _model(snapshot.estimates)
    n_terms = len(snapshot.ringing_elapsed_s)
    if exact_terms >= SMALL_TERMS and n_terms <= SMALL_TERMS:
        return _largest_small(model, snapshot, alpha, n_max)
    operators = snapshot.free_operators - snapshot.waiting_answered
    if n_terms > exact_terms:
        # Large floors: only means and variances are needed, straight from the model's tables.
        rows = np.minimum((np.asarray(snapshot.ringing_elapsed_s) * (1 / _RING_STEP_S) + 0.5).astype(np.intp),
                          len(model.ring_table) - 1)
        mean0 = model.ring_table[rows].sum(axis=0)
        var0 = model.ring_var[rows].sum(axis=0)
        base_answers = snapshot.waiting_answered + float(mean0[-1])
        n_hi = _mean_bound(model, mean0, operators, alpha, base_answers, n_max)
        n = np.arange(n_hi + 1, dtype=float)
        budget = alpha * (base_answers + n * model.new_answer) + 1e-9
        losses = _normal_losses(mean0, var0, model.new_p, operators, n).max(axis=1)
    else:
        terms = (answer_probabilities(model, np.asarray(snapshot.ringing_elapsed_s, dtype=float))
                 if n_terms else np.zeros((0, model.taus.size)))
        base_answers = snapshot.waiting_answered + float(terms[:, -1].sum())
        n_hi = _mean_bound(model, terms.sum(axis=0), operators, alpha, base_answers, n_max)
        n = np.arange(n_hi + 1, dtype=float)
        budget = alpha * (base_answers + n * model.new_answer) + 1e-9
        certain = (terms >= 1.0 - 1e-12).all(axis=1)
        terms = terms[~certain & (terms > 1e-12).any(axis=1)]
        losses = _ExactSum(terms, model.new_p, operators - int(certain.sum()), n_hi).losses(0, n_hi)
    bad = np.flatnonzero(losses > budget)
    return int(bad[0]) - 1 if bad.size else n_hi
