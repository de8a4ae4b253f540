import numpy as np
import pytest

from pacing.estimators import OnlineEstimators


def feed_dials(est: OnlineEstimators, start: float, seconds: float, rate_per_s: float, answer_rate: float,
               rng: np.random.Generator) -> float:
    t = start
    while t < start + seconds:
        t += 1.0 / rate_per_s
        answered = rng.random() < answer_rate
        est.observe_dial(t, answered, rng.uniform(5, 20) if answered else 25.0)
    return t


def test_answer_rate_follows_a_change_of_list_within_minutes():
    rng = np.random.default_rng(7)
    est = OnlineEstimators()
    t = feed_dials(est, 0.0, 3600, 10.0, 0.35, rng)
    assert est.estimates().answer_rate == pytest.approx(0.35, abs=0.03)
    t = feed_dials(est, t, 600, 10.0, 0.10, rng)          # new list: ten minutes later
    assert est.estimates().answer_rate == pytest.approx(0.10, abs=0.04)


def test_handle_time_follows_a_change_and_learns_its_spread():
    rng = np.random.default_rng(3)
    est = OnlineEstimators()
    for i in range(2000):
        talk = rng.lognormal(np.log(180) - 0.32, 0.8)
        est.observe_handle(i * 2.0, talk, 10.0)
    e = est.estimates()
    assert e.mean_talk_s == pytest.approx(180, rel=0.12)
    assert e.mean_wrap_s == pytest.approx(10.0)
    assert 0.55 < e.handle_sigma < 0.9
    for i in range(400):                                   # afternoon: short calls
        est.observe_handle(4000 + i * 2.0, rng.lognormal(np.log(60) - 0.32, 0.8), 10.0)
    assert est.estimates().mean_talk_s == pytest.approx(60, rel=0.2)


def test_ring_time_distribution_is_learnt_from_answers():
    rng = np.random.default_rng(1)
    est = OnlineEstimators()
    feed_dials(est, 0.0, 1800, 5.0, 0.3, rng)
    e = est.estimates()
    cdf = np.asarray(e.ring_cdf)
    assert cdf[5] < 0.05 and cdf[20] > 0.95
    assert e.mean_ring_to_answer_s == pytest.approx(12.5, abs=1.0)
    assert e.samples > 400


def test_machines_are_counted_apart_from_live_answers():
    est = OnlineEstimators()
    for i in range(1000):
        if i % 5 == 0:
            est.observe_machine(float(i), 8.0)
        else:
            est.observe_dial(float(i), i % 5 == 1, 10.0)
    e = est.estimates()
    assert e.machine_rate == pytest.approx(0.2, abs=0.03)
    assert e.answer_rate == pytest.approx(0.2, abs=0.03)
