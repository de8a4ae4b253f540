"""The handle time (talk + wrap-up) as a distribution the queue model can condition on elapsed time.

The queue model credits a busy operator with the chance to free in the next seconds *given how long the
call has lasted*, so the shape of the distribution matters, not only its mean. Real talk times are
right-skewed (lognormal: a call that has gone on long is likely to go on), but some lists have
memoryless conversations (exponential). A lognormal fitted to exponential talk (sigma ≈ 1.28, median
0.44 of the mean) puts too much mass on short calls and too little later: averaged over the ages of the
calls in progress it makes a busy operator likelier to free in the next seconds than he is, so the model
credits operators too early (benchmarks/results/pacing-notes.md gives the size of the error).

So the estimator fits two families from the same running sums (weight, Σh, Σlog h, Σ(log h)²) and keeps
the one of higher likelihood: the lognormal (mean matched, sigma of log h) or the gamma (shape by
maximum likelihood; shape 1 is the exponential).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import digamma, gammaincc, gammainccinv, gammaln, log_ndtr, ndtri, polygamma

from pacing.snapshot import Estimates

_SHAPE_RANGE = (0.2, 50.0)


def gamma_shape(mean: float, mean_log: float) -> float:
    """Maximum-likelihood gamma shape k from the mean and the mean log: solves ln k − ψ(k) = ln mean − mean log."""
    s = math.log(max(mean, 1e-9)) - mean_log
    if s <= 1.0 / (2.0 * _SHAPE_RANGE[1]):
        return _SHAPE_RANGE[1]
    k = (3.0 - s + math.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)     # Minka's start, within 1.5 %
    for _ in range(3):                                                    # Newton on ln k − ψ(k) − s
        k -= (math.log(k) - float(digamma(k)) - s) / (1.0 / k - float(polygamma(1, k)))
        k = min(max(k, _SHAPE_RANGE[0]), _SHAPE_RANGE[1])
    return k


def gamma_beats_lognormal(mean: float, mean_log: float, var_log: float) -> float:
    """The gamma's shape when it fits the sample better than the lognormal (mean log-likelihood), else 0."""
    if var_log <= 1e-9:
        return 0.0
    k = gamma_shape(mean, mean_log)
    gamma_ll = (k - 1.0) * mean_log - k - k * math.log(mean / k) - float(gammaln(k))
    lognormal_ll = -mean_log - 0.5 * math.log(2.0 * math.pi * var_log) - 0.5
    return k if gamma_ll > lognormal_ll else 0.0


def log_survival(est: Estimates, t: np.ndarray) -> np.ndarray:
    """The logarithm of P(handle > t) under the estimated family."""
    mean = max(est.mean_talk_s + est.mean_wrap_s, 1.0)
    t = np.maximum(t, 1e-3)
    if est.handle_shape > 0:
        k = est.handle_shape
        return np.log(np.maximum(gammaincc(k, t * (k / mean)), 1e-300))
    sigma = max(est.handle_sigma, 0.05)
    log_mu = math.log(mean) - sigma * sigma / 2.0
    return log_ndtr(-(np.log(t) - log_mu) / sigma)


def upper_quantile(est: Estimates, tail: float) -> float:
    """The handle time exceeded with probability ``tail``: where the model's tables may stop."""
    mean = max(est.mean_talk_s + est.mean_wrap_s, 1.0)
    if est.handle_shape > 0:
        k = est.handle_shape
        return float(gammainccinv(k, tail)) * mean / k
    sigma = max(est.handle_sigma, 0.05)
    return math.exp(math.log(mean) - sigma * sigma / 2.0 - float(ndtri(tail)) * sigma)


def fit_shape(mean: float, mean_log: float, var_log: float) -> tuple[float, float]:
    """(sigma of log h, gamma shape or 0) of the family that fits the sums better (see the module doc)."""
    sigma = min(max(math.sqrt(max(var_log, 0.0)), 0.05), 2.5)
    return sigma, gamma_beats_lognormal(mean, mean_log, var_log)


def censored_moments(est: Estimates, elapsed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E[h], E[log h], E[(log h)²] given h > elapsed, under the law ``est`` describes.

    A call still in progress is a right-censored observation: all we know is that it lasts longer than it
    has so far. Its expected sufficient statistics are what an EM step adds for it (pacing.estimators).
    Computed on a log-spaced grid of the law (0.1 % of the mean up to its 10⁻⁶ upper quantile), kept for
    the law rounded to 1 % of its mean and 0.01 of its shape (the engine asks for estimates on every
    decision; the EM step needs no finer law).
    """
    mean = max(est.mean_talk_s + est.mean_wrap_s, 1.0)
    grid, log_grid, tails, slopes = _tails(round(math.exp(round(math.log(mean), 2)), 6), round(est.handle_sigma, 2),
                                           round(est.handle_shape, 2))
    at = np.interp(np.log(np.maximum(elapsed, grid[0])), log_grid, np.arange(grid.size, dtype=float))
    # np.interp(at, arange(grid.size), tail) for the four tails in one gather, the same floats: on a grid of
    # whole numbers a point's segment is its integer part, and numpy's step is slope × (x − left) + tail[left]
    # (a point at the grid's end: slope 0). Four searches over thousands of calls cost more than the rest.
    left = at.astype(np.intp)
    weight, e_h, e_log, e_log2 = slopes[:, left] * (at - left) + tails[:, left]
    weight = np.maximum(weight, 1e-300)
    e_h, e_log, e_log2 = e_h / weight, e_log / weight, e_log2 / weight
    # the value within the first bin above ``elapsed`` is not below it
    e_h = np.maximum(e_h, elapsed)
    e_log = np.maximum(e_log, np.log(np.maximum(elapsed, 1e-3)))
    return e_h, e_log, np.maximum(e_log2, e_log * e_log)


@lru_cache(maxsize=64)
def _tails(mean: float, sigma: float, shape: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The grid, its logarithm and, per grid point x, Σ over the bins above x of mass·g(mid), g = 1, h, log h,
    (log h)², with each tail's slope from one point to the next (0 after the last)."""
    law = Estimates(mean_talk_s=mean, mean_wrap_s=0.0, handle_sigma=sigma, handle_shape=shape)
    grid = np.geomspace(1e-3 * mean, max(upper_quantile(law, 1e-6), 2e-3 * mean), 400)
    survive = np.exp(log_survival(law, grid))
    survive[0] = 1.0
    mass = np.maximum(-np.diff(np.append(survive, 0.0)), 0.0)       # mass of [x_i, x_i+1), the last bin open
    mid = np.append(np.sqrt(grid[1:] * grid[:-1]), grid[-1])
    log_mid = np.log(mid)
    tails = np.cumsum(np.stack((mass, mass * mid, mass * log_mid, mass * log_mid ** 2))[:, ::-1], axis=1)[:, ::-1]
    slopes = np.append(np.diff(tails, axis=1), np.zeros((len(tails), 1)), axis=1)
    return grid, np.log(grid), tails, slopes
