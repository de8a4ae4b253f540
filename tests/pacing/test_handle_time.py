import math

import numpy as np
import pytest

from pacing.handle_time import censored_moments, gamma_shape, log_survival, upper_quantile
from pacing.snapshot import Estimates

EXPONENTIAL = Estimates(mean_talk_s=180.0, mean_wrap_s=0.0, handle_shape=1.0)
LOGNORMAL = Estimates(mean_talk_s=180.0, mean_wrap_s=10.0, handle_sigma=0.8)


def test_exponential_censored_mean_is_elapsed_plus_mean():
    elapsed = np.array([0.0, 10.0, 100.0, 600.0, 1500.0])
    e_h, _, _ = censored_moments(EXPONENTIAL, elapsed)
    assert e_h == pytest.approx(elapsed + 180.0, rel=0.01)


def test_lognormal_censored_moments_match_a_monte_carlo():
    rng = np.random.default_rng(0)
    x = rng.lognormal(math.log(190.0) - 0.32, 0.8, 2_000_000)
    e_h, e_log, e_log2 = censored_moments(LOGNORMAL, np.array([0.0, 100.0, 400.0]))
    for i, e in enumerate((0.0, 100.0, 400.0)):
        tail = x[x > e]
        assert e_h[i] == pytest.approx(tail.mean(), rel=0.01)
        assert e_log[i] == pytest.approx(np.log(tail).mean(), abs=0.01)
        assert e_log2[i] == pytest.approx((np.log(tail) ** 2).mean(), rel=0.01)


@pytest.mark.parametrize("k", [0.5, 1.0, 3.0, 10.0])
def test_gamma_shape_is_recovered_from_mean_and_mean_log(k):
    x = np.random.default_rng(2).gamma(k, 100.0, 400_000)
    assert gamma_shape(float(x.mean()), float(np.log(x).mean())) == pytest.approx(k, rel=0.03)


@pytest.mark.parametrize("law", [EXPONENTIAL, LOGNORMAL, Estimates(mean_talk_s=60.0, handle_shape=4.0)])
def test_survival_and_upper_quantile_agree(law):
    q = upper_quantile(law, 5e-4)
    assert math.exp(float(log_survival(law, np.array([q]))[0])) == pytest.approx(5e-4, rel=0.02)


def test_a_lognormal_fitted_to_exponential_talk_credits_busy_operators_too_early():
    # Why the gamma family is there: ages of calls in progress are exponential too; averaged over them, the
    # lognormal with the same mean and the sigma of log(exponential) (π/√6) frees an operator in the next
    # 2 s ≈ 15 % more often than the exponential truth does.
    ages = np.random.default_rng(0).exponential(180.0, 200_000)
    fitted = Estimates(mean_talk_s=180.0, mean_wrap_s=0.0, handle_sigma=math.pi / math.sqrt(6.0))
    frees = 1.0 - np.exp(log_survival(fitted, ages + 2.0) - log_survival(fitted, ages))
    truth = 1.0 - np.exp(log_survival(EXPONENTIAL, ages + 2.0) - log_survival(EXPONENTIAL, ages))
    assert truth.mean() == pytest.approx(1.0 - math.exp(-2.0 / 180.0), rel=0.01)
    assert 1.10 < frees.mean() / truth.mean() < 1.20


def _interpolated_moments(est: Estimates, elapsed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``censored_moments`` as it was written first: each tail read with its own ``np.interp``."""
    from pacing.handle_time import _tails

    mean = max(est.mean_talk_s + est.mean_wrap_s, 1.0)
    grid, _, tails, _ = _tails(round(math.exp(round(math.log(mean), 2)), 6), round(est.handle_sigma, 2),
                               round(est.handle_shape, 2))
    at = np.interp(np.log(np.maximum(elapsed, grid[0])), np.log(grid), np.arange(grid.size, dtype=float))
    index = np.arange(grid.size, dtype=float)
    weight, e_h, e_log, e_log2 = (np.interp(at, index, tail) for tail in tails)
    weight = np.maximum(weight, 1e-300)
    e_h, e_log, e_log2 = e_h / weight, e_log / weight, e_log2 / weight
    e_h = np.maximum(e_h, elapsed)
    e_log = np.maximum(e_log, np.log(np.maximum(elapsed, 1e-3)))
    return e_h, e_log, np.maximum(e_log2, e_log * e_log)


@pytest.mark.parametrize("law", [EXPONENTIAL, LOGNORMAL, Estimates(mean_talk_s=30.0, mean_wrap_s=5.0, handle_shape=2.3),
                                 Estimates(mean_talk_s=0.5, mean_wrap_s=0.0, handle_sigma=2.5)])
def test_the_censored_moments_are_the_floats_of_one_interpolation_per_tail(law: Estimates) -> None:
    """The tails are read at each call's place on the grid in one gather: the same floats as np.interp's."""
    rng = np.random.default_rng(3)
    mean = law.mean_talk_s + law.mean_wrap_s
    elapsed = np.concatenate((rng.uniform(0.0, 3 * mean, 5000), rng.exponential(mean, 5000),
                              [0.0, 1e-9, mean, 1e3 * mean, 1e9]))
    for got, expected in zip(censored_moments(law, elapsed), _interpolated_moments(law, elapsed), strict=True):
        assert np.array_equal(got, expected)
