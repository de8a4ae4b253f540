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


def _start_of_day(draw, servers: int, at: float, rng: np.random.Generator, censored: bool) -> float:
    """Operators busy back to back from 0 s, estimates refreshed every 15 s; the mean talk read at ``at``."""
    est = OnlineEstimators()
    start = [0.0] * servers
    end = [draw(rng) for _ in range(servers)]
    for t in np.arange(15.0, at + 1e-9, 15.0):
        while min(end) <= t:
            i = int(np.argmin(end))
            est.observe_handle(end[i], end[i] - start[i], 0.0)
            start[i], end[i] = end[i], end[i] + draw(rng)
        est.estimates(tuple(t - s for s in start) if censored else ())
    return est.estimates(tuple(at - s for s in start) if censored else ()).mean_talk_s


@pytest.mark.parametrize("name,draw", [
    ("exponential", lambda r: r.exponential(180.0)),
    ("lognormal", lambda r: r.lognormal(np.log(180.0) - 0.32, 0.8)),
])
def test_calls_in_progress_as_censored_times_remove_the_early_bias(name, draw):
    # Ten minutes into the day only the short calls have ended: their mean reads far too low. With the calls
    # in progress as right-censored observations the estimate is within 10 % of the true mean (180 s).
    rng = np.random.default_rng(11)
    censored = [_start_of_day(draw, 20, 600.0, rng, True) for _ in range(40)]
    finished = [_start_of_day(draw, 20, 600.0, rng, False) for _ in range(40)]
    assert np.mean(censored) == pytest.approx(180.0, rel=0.10)
    assert np.mean(finished) < 0.85 * 180.0


def test_handle_time_family_follows_the_data():
    rng = np.random.default_rng(4)
    exponential, lognormal = OnlineEstimators(), OnlineEstimators()
    for i in range(3000):
        exponential.observe_handle(i * 9.0, float(rng.exponential(180.0)), 0.0)
        lognormal.observe_handle(i * 9.0, float(rng.lognormal(np.log(180.0) - 0.32, 0.8)), 10.0)
    e, g = exponential.estimates(), lognormal.estimates()
    assert e.handle_shape == pytest.approx(1.0, abs=0.15)             # a gamma of shape 1: the exponential
    assert e.mean_talk_s == pytest.approx(180.0, rel=0.1)
    assert g.handle_shape == 0.0 and g.handle_sigma == pytest.approx(0.8, abs=0.1)


def test_the_long_memory_is_steadier_than_sixty_calls():
    # Steady state, exponential talk of 180 s, a call ending every 9 s (20 operators): the estimate read
    # over an afternoon stays within ±8 % of the mean (sixty calls alone would be ±13 % for one sd).
    rng = np.random.default_rng(9)
    est = OnlineEstimators()
    readings = []
    for i in range(4000):
        est.observe_handle(i * 9.0, float(rng.exponential(180.0)), 0.0)
        if i > 1000 and i % 20 == 0:
            readings.append(est.estimates().mean_talk_s)
    assert np.percentile(readings, 5) > 0.92 * 180.0 and np.percentile(readings, 95) < 1.08 * 180.0


def test_handle_time_is_settled_once_a_call_was_watched_for_twice_its_mean():
    # At the start of the day every call is young: the fitted tail is a guess until some call has been
    # watched (finished or still going) for twice the estimated mean.
    est = OnlineEstimators()
    for k in range(20):
        est.observe_handle(60.0 + k, 40.0 + k, 0.0)
    in_progress = tuple(float(s) for s in range(5, 100, 5))
    young = est.estimates(in_progress)
    assert not young.handle_settled
    old = est.estimates((*in_progress, 3 * young.mean_talk_s))
    assert old.handle_settled
    est.observe_handle(900.0, 3 * old.mean_talk_s, 0.0)
    assert est.estimates(()).handle_settled                    # a finished long call counts as well
