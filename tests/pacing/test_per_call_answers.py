"""The predictive bound with each call's own chance of an answer."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np

from pacing import per_call_answers
from pacing.policies import PacingSettings, predictive
from pacing.predictive import checkpoints
from pacing.snapshot import Estimates, Snapshot

EST = Estimates(answer_rate=0.3, samples=100)
SETTINGS = PacingSettings(mode="predictive")


def test_the_same_chance_for_every_call_gives_the_answer_of_one_rate() -> None:
    rng = random.Random(1)
    for free, ringing, busy in [(3, 2, 2), (5, 10, 15), (1, 0, 19), (10, 30, 10), (30, 60, 70)]:
        elapsed = tuple(rng.uniform(0, 20) for _ in range(ringing))
        handles = tuple(rng.uniform(0, 300) for _ in range(busy))
        one_rate = predictive(Snapshot(free, handles, elapsed, 0, EST), SETTINGS, 0.025)
        per_call = predictive(Snapshot(free, handles, elapsed, 0, EST, ringing_answer_p=(0.3,) * ringing,
                                       next_answer_p=(0.3,)), SETTINGS, 0.025)
        assert per_call == one_rate


def test_likelier_answers_ringing_or_next_mean_fewer_new_calls() -> None:
    elapsed = (1.0, 3.0, 5.0, 7.0, 9.0, 11.0)
    base = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.3,) * 6, next_answer_p=(0.3,))
    callbacks_ringing = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.6,) * 6, next_answer_p=(0.3,))
    callbacks_next = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.3,) * 6, next_answer_p=(0.6,))
    cold_next = Snapshot(6, (), elapsed, 0, EST, ringing_answer_p=(0.3,) * 6, next_answer_p=(0.1,))
    n = predictive(base, SETTINGS, 0.025)
    assert predictive(callbacks_ringing, SETTINGS, 0.025) < n
    assert predictive(callbacks_next, SETTINGS, 0.025) < n < predictive(cold_next, SETTINGS, 0.025)


def test_thousands_of_calls_given_as_arrays_get_the_answer_of_tuples_to_the_last_bit() -> None:
    rng = np.random.default_rng(4)
    for calls, free in [(41, 3), (2_000, 40), (9_000, 120), (26_000, 300)]:
        cdf = np.concatenate(([0.0], np.cumsum(rng.uniform(size=40) * (rng.uniform(size=40) < 0.7))))
        est = Estimates(answer_rate=0.1, no_answer_timeout_s=38.0, samples=500, ring_cdf=tuple(cdf / cdf[-1]))
        elapsed, chances = rng.uniform(0.0, 45.0, calls), rng.uniform(0.02, 0.4, calls)
        as_tuples = Snapshot(free, (), tuple(elapsed.tolist()), 2, est, ringing_answer_p=tuple(chances.tolist()),
                             next_answer_p=(0.1,))
        as_arrays = replace(as_tuples, ringing_elapsed_s=elapsed, ringing_answer_p=chances)
        settings = PacingSettings(mode="predictive", max_lines_per_operator=20.0)
        assert predictive(as_arrays, settings, 0.03) == predictive(as_tuples, settings, 0.03)


def test_the_ringing_calls_sums_are_the_sums_of_the_per_call_terms() -> None:
    rng = np.random.default_rng(5)
    for calls in (41, 700, 9_000, 20_000):
        cdf = np.concatenate(([0.0], np.cumsum(rng.uniform(size=30))))
        est = Estimates(answer_rate=0.2, no_answer_timeout_s=float(rng.uniform(10, 40)), ring_cdf=tuple(cdf / cdf[-1]))
        elapsed = rng.uniform(-0.1, 50.0, calls)
        elapsed[:3] = est.no_answer_timeout_s                   # at the timeout: released
        chances = rng.uniform(0.01, 0.7, calls)
        offsets = np.append(checkpoints(est), est.no_answer_timeout_s)
        terms = per_call_answers.hazard(est, elapsed, chances, offsets)
        mean, var, eventual = per_call_answers.ringing_sums(est, elapsed, chances, offsets)
        answering = terms[:, :-1]
        assert np.allclose(mean, answering.sum(axis=0), rtol=1e-12, atol=0.0)
        assert np.allclose(var, (answering * (1.0 - answering)).sum(axis=0), rtol=1e-12, atol=0.0)
        assert eventual == float(terms[:, -1].sum())


def test_the_ring_cdf_read_without_a_search_is_numpys_interpolation() -> None:
    rng = np.random.default_rng(6)
    cdf = np.concatenate(([0.0], np.sort(rng.uniform(size=45)), [1.0]))
    x = np.concatenate((rng.uniform(-2.0, 60.0, 100_000), np.arange(0.0, 47.0, 0.5)))
    assert np.array_equal(per_call_answers.cdf_at(cdf, x), np.interp(x, np.arange(len(cdf), dtype=float), cdf))


def test_the_next_calls_terms_are_the_per_call_terms_of_calls_that_have_not_rung() -> None:
    rng = np.random.default_rng(7)
    for timeout in (5.0, 25.0, 60.0):
        cdf = np.concatenate(([0.0], np.cumsum(rng.uniform(size=30))))
        est = Estimates(no_answer_timeout_s=timeout, ring_cdf=tuple(cdf / cdf[-1]))
        chances = rng.uniform(0.0, 1.0, 500)
        offsets = np.append(checkpoints(est), timeout)
        assert np.array_equal(per_call_answers.new_terms(est, chances, offsets),
                              per_call_answers.hazard(est, np.zeros(500), chances, offsets))


def _learnt_estimates(rng: np.random.Generator, rate: float) -> Estimates:
    """Estimates as the online estimators give them: a ring-time CDF of irregular steps, a handle-time law."""
    bins = np.zeros(60)
    bins[5:20] = rng.uniform(0.2, 1.0, 15)
    cdf = np.concatenate(([0.0], np.cumsum(bins) / bins.sum()))
    return Estimates(answer_rate=rate, mean_ring_to_answer_s=12.4, mean_talk_s=float(rng.uniform(50, 320)),
                     mean_wrap_s=10.0, no_answer_timeout_s=25.0, samples=150,
                     handle_sigma=float(rng.uniform(0.6, 0.9)), ring_cdf=tuple(float(x) for x in cdf))


def test_with_learnt_estimates_the_same_chance_for_every_call_gives_the_answer_of_one_rate() -> None:
    # Small teams are mostly busy: the queue model (busy operators freeing) decides most of their calls. It
    # reads the estimates rounded to the precision it needs; each call's own chance must be read on the
    # same rounded law, or a day where every lead has the same chance dials less than the rule of one rate.
    rng = np.random.default_rng(8)
    differ = 0
    for _ in range(300):
        rate = float(rng.choice([0.1, 0.12, 0.2, 0.23, 0.35]))
        est = _learnt_estimates(rng, rate)
        operators = int(rng.choice([3, 5, 10]))
        free = int(rng.integers(1, operators))
        ringing = tuple(rng.uniform(0.0, 24.0, int(rng.integers(0, 3 * operators))).tolist())
        busy = tuple(rng.uniform(0.0, 400.0, operators - free).tolist())
        alpha = float(rng.uniform(0.01, 0.05))
        one_rate = predictive(Snapshot(free, busy, ringing, 0, est), SETTINGS, alpha)
        per_call = predictive(Snapshot(free, busy, ringing, 0, est, ringing_answer_p=(rate,) * len(ringing),
                                       next_answer_p=(rate,)), SETTINGS, alpha)
        differ += per_call != one_rate
    assert differ == 0, f"{differ} of 300 differ"


def test_free_operators_alone_the_same_chance_for_every_call_gives_the_answer_of_one_rate() -> None:
    # No busy operator: the exact law over the free ones decides. Calls ring for any fraction of a second
    # and α's budget counts the answers expected by the last checkpoint, as in the one-rate tables.
    rng = np.random.default_rng(9)
    differ = 0
    for _ in range(1_000):
        rate = float(rng.choice([0.1, 0.2, 0.35]))
        est = _learnt_estimates(rng, rate)
        free = int(rng.integers(1, 8))
        ringing = tuple(rng.uniform(0.0, 24.9, int(rng.integers(0, 21))).tolist())
        alpha = float(rng.uniform(0.005, 0.06))
        one_rate = predictive(Snapshot(free, (), ringing, 0, est), SETTINGS, alpha)
        per_call = predictive(Snapshot(free, (), ringing, 0, est, ringing_answer_p=(rate,) * len(ringing),
                                       next_answer_p=(rate,)), SETTINGS, alpha)
        differ += per_call != one_rate
    assert differ == 0, f"{differ} of 1,000 differ"

