"""Answers from calls of several campaigns at once: the predictive bound for a shared pool of operators.

A campaign group rings calls of campaigns whose answer rates and ring times differ. Each call is still a
Bernoulli "answered by τ", but with its own campaign's law, so the count of answers by τ is a
Poisson-binomial with heterogeneous terms. That is exactly what ``pacing.predictive`` sums; what changes
is that the checkpoints τ must be common to all campaigns (each campaign's ring-time quantiles, merged)
and that every new call carries its own campaign's probabilities. The terms are multiplied as generating
functions and inverted with one batched FFT for every prefix of the planned calls at once (exact); past
``EXACT_TERMS`` terms the sum is read as normal (Lyapunov), as the single-campaign model does.

Only the free operators of the pool take the answers (no credit for busy ones: see
``pacing.policies.predictive`` for why), so

    overflow(τ) = (answers by τ − (free − reserved − already waiting))⁺.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from pacing.predictive import ring_cdf
from pacing.snapshot import Estimates

EXACT_TERMS = 40
_QUANTILES = (0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 0.999)
_RING_STEP_S = 0.1
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


_last_checkpoints: tuple[tuple[Estimates, ...], np.ndarray] | None = None


def checkpoints(estimates: Sequence[Estimates]) -> np.ndarray:
    """Common checkpoints: every campaign's ring-time quantiles, merged (rounded to 0.25 s)."""
    global _last_checkpoints
    if _last_checkpoints is not None and len(_last_checkpoints[0]) == len(estimates) \
            and all(a is b for a, b in zip(_last_checkpoints[0], estimates, strict=True)):
        return _last_checkpoints[1]
    taus: list[float] = []
    for est in estimates:
        cdf = ring_cdf(est)
        grid = np.arange(len(cdf), dtype=float)
        taus.extend(np.interp(np.asarray(_QUANTILES) * cdf[-1], cdf, grid).tolist())
    merged = np.unique(np.maximum(np.round(np.asarray(taus) * 4.0) / 4.0, 0.25))
    _last_checkpoints = (tuple(estimates), merged)
    return merged


@dataclass(frozen=True)
class CampaignLaw:
    """One campaign's answer law on the common checkpoints."""
    ring_table: np.ndarray      # P(answered by τ | rang e), rows e = 0, 0.1 … timeout
    eventual: np.ndarray        # P(answered at all | rang e), same rows
    new_p: np.ndarray           # P(a new call is answered by τ)
    new_answer: float           # P(a new call is answered at all)

    def ringing(self, elapsed_s: Sequence[float]) -> tuple[np.ndarray, float]:
        """Terms (calls × checkpoints) of the calls ringing now, and their expected eventual answers."""
        if len(elapsed_s) == 0:          # a tuple, or the engine's array (pacing.snapshot.PerCall)
            return np.zeros((0, self.new_p.size)), 0.0
        rows = np.minimum((np.asarray(elapsed_s, dtype=float) / _RING_STEP_S + 0.5).astype(np.intp),
                          len(self.ring_table) - 1)
        return self.ring_table[rows], float(self.eventual[rows].sum())


_laws: dict[tuple[object, ...], CampaignLaw] = {}
_recent: dict[int, tuple[Estimates, np.ndarray, CampaignLaw]] = {}


def law(est: Estimates, taus: np.ndarray) -> CampaignLaw:
    """The campaign's law on these checkpoints (cached: estimates move slowly)."""
    seen = _recent.get(id(est))
    if seen is not None and seen[0] is est and seen[1] is taus:
        return seen[2]
    key = (round(est.answer_rate, 3), round(est.no_answer_timeout_s, 0), round(est.mean_ring_to_answer_s, 1),
           tuple(round(x, 2) for x in est.ring_cdf), tuple(taus.tolist()))
    found = _laws.get(key)
    if found is None:
        if len(_laws) >= 64:
            _laws.pop(next(iter(_laws)))
        found = _laws[key] = _build(est, taus)
    if len(_recent) >= 64:
        _recent.clear()
    _recent[id(est)] = (est, taus, found)
    return found


def _build(est: Estimates, taus: np.ndarray) -> CampaignLaw:
    cdf = ring_cdf(est)
    grid = np.arange(len(cdf), dtype=float)
    p = min(max(est.answer_rate, 1e-4), 1.0)
    timeout = max(est.no_answer_timeout_s, 1.0)
    e = np.arange(0.0, timeout + _RING_STEP_S, _RING_STEP_S)[:, None]
    f_e = np.interp(e, grid, cdf)
    denom = np.maximum(1.0 - p * f_e, 1e-9)
    f_et = np.interp(np.minimum(e + taus[None, :], timeout), grid, cdf)
    table = np.clip(p * (f_et - f_e) / denom, 0.0, 1.0)
    eventual = np.clip(p * (np.interp(timeout, grid, cdf) - f_e[:, 0]) / denom[:, 0], 0.0, 1.0)
    table[-1] = 0.0                 # at the timeout the dialer releases the call
    eventual[-1] = 0.0
    new_p = p * np.interp(taus, grid, cdf)
    return CampaignLaw(table, eventual, new_p, float(p * np.interp(timeout, grid, cdf)))


def safe_prefix(base: np.ndarray, waiting: int, base_answers: float, operators: int, new_terms: np.ndarray,
                new_answers: np.ndarray, alpha: float, exact_terms: int = EXACT_TERMS) -> int:
    """Largest n such that the calls ringing (``base``: terms × checkpoints), the answered calls waiting
    and the first n planned new calls (``new_terms``: planned × checkpoints) keep
    max over τ of E[overflow(τ)] ≤ α·E[answers]; −1 when even n = 0 breaks it.

    ``new_answers[i]``: P(planned call i is answered at all); ``base_answers``: expected eventual answers
    of the ringing calls; ``operators``: free operators of the pool that may take them; ``exact_terms``:
    the most terms (ringing and planned) whose sum is convolved exactly, past which it is read as normal.
    """
    mean = base.sum(axis=0)
    n_max, budget = _searched(mean, waiting, base_answers, operators, new_terms, new_answers, alpha)
    if n_max < 0:
        return -1
    new_terms, room = new_terms[:n_max], operators - waiting
    if base.shape[0] + n_max > exact_terms:
        losses = _normal_losses(mean, (base * (1.0 - base)).sum(axis=0), new_terms, room)
    else:
        losses = _exact_losses(base, new_terms, room)
    bad = np.flatnonzero(losses > budget)
    return int(bad[0]) - 1 if bad.size else n_max


def safe_prefix_normal(mean: np.ndarray, var: np.ndarray, waiting: int, base_answers: float, operators: int,
                       new_terms: np.ndarray, new_answers: np.ndarray, alpha: float) -> int:
    """``safe_prefix`` for more than ``EXACT_TERMS`` ringing calls, from their terms' sums over the calls
    (per checkpoint: ``mean`` = Σ p, ``var`` = Σ p(1 − p)), which is all the normal law reads."""
    n_max, budget = _searched(mean, waiting, base_answers, operators, new_terms, new_answers, alpha)
    if n_max < 0:
        return -1
    losses = _normal_losses(mean, var, new_terms[:n_max], operators - waiting)
    bad = np.flatnonzero(losses > budget)
    return int(bad[0]) - 1 if bad.size else n_max


def _searched(mean: np.ndarray, waiting: int, base_answers: float, operators: int, new_terms: np.ndarray,
              new_answers: np.ndarray, alpha: float) -> tuple[int, np.ndarray]:
    """The largest n worth weighing, and each prefix's budget α·E[answers] (n = 0 … that n)."""
    room = operators - waiting
    budget = alpha * (waiting + base_answers + np.concatenate(([0.0], np.cumsum(new_answers)))) + 1e-9
    # E[(X−K)⁺] ≥ E[X] − K: the first n whose mean alone breaks the bound ends the search. A full floor
    # breaks it at n = 0 in most decisions: then the planned calls' sums are not needed.
    if mean.max() - room > budget[0]:
        return -1, budget[:1]
    means = mean + np.concatenate((np.zeros((1, mean.shape[0])), np.cumsum(new_terms, axis=0)))
    broken = np.flatnonzero((means.max(axis=1) - room) > budget)
    n_max = min(int(broken[0]) - 1 if broken.size else new_terms.shape[0], new_terms.shape[0])
    return n_max, budget[:max(n_max, 0) + 1]


def _exact_losses(base: np.ndarray, new_terms: np.ndarray, room: int) -> np.ndarray:
    """E[(X_n − room)⁺], worst checkpoint, for every prefix n = 0 … len(new_terms), exactly."""
    size = base.shape[0] + new_terms.shape[0] + 1
    length = 1 << max(size - 1, 1).bit_length()
    z = np.exp(-2j * np.pi * np.arange(length // 2 + 1) / length)
    pgf = np.prod(1.0 - base[:, :, None] + base[:, :, None] * z, axis=0)                   # (K, L/2+1)
    factors = 1.0 - new_terms[:, :, None] + new_terms[:, :, None] * z                     # (n, K, L/2+1)
    prefixes = np.concatenate((pgf[None], pgf[None] * np.cumprod(factors, axis=0)))       # (n+1, K, L/2+1)
    pmf = np.fft.irfft(prefixes, n=length, axis=-1)
    weights = np.maximum(np.arange(length, dtype=float) - room, 0.0)
    return (pmf @ weights).max(axis=1)


def _normal_losses(mean0: np.ndarray, var0: np.ndarray, new_terms: np.ndarray, room: int) -> np.ndarray:
    """The same expectation with the sum read as normal (many terms): ``mean0`` and ``var0`` are the
    ringing calls' Σ p and Σ p(1 − p) per checkpoint."""
    zero = np.zeros((1, mean0.shape[0]))
    mean = mean0 + np.concatenate((zero, np.cumsum(new_terms, axis=0)))
    var = var0 + np.concatenate((zero, np.cumsum(new_terms * (1.0 - new_terms), axis=0)))
    sd = np.sqrt(np.maximum(var, 1e-12))
    z = (room - mean) / sd
    return (sd * np.exp(-0.5 * z * z) * _INV_SQRT_2PI + (mean - room) * ndtr(-z)).max(axis=1)
