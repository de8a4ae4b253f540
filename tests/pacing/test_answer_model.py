"""Each dial's own chance of an answer: known from its category at once, learnt online, shrunk when data are few."""

from __future__ import annotations

import numpy as np
import pytest

from pacing.answer_model import AnswerModel
from pacing.dial_features import DialFeatures
from pacing.estimators import OnlineEstimators
from pacing.policies import PacingSettings, predictive
from pacing.snapshot import Estimates, Snapshot

COLD = DialFeatures("cold", 1, 10)
CALLBACK = DialFeatures("callback", 2, 14, answered_before=1, dialed_before=1)


def feed(model: AnswerModel, rates: OnlineEstimators | None, features: DialFeatures, rate: float, n: int,
         start: float, every_s: float, rng: np.random.Generator) -> float:
    now = start
    for live in rng.random(n) < rate:
        model.observe(now, features, bool(live))
        if rates is not None:
            rates.observe_dial(now, bool(live), 8.0)
        now += every_s
    return now


def test_a_switch_of_category_is_known_at_once_where_one_rate_for_the_list_lags() -> None:
    rng = np.random.default_rng(1)
    model = AnswerModel(campaign_rate=0.3)
    rates = OnlineEstimators(Estimates(answer_rate=0.3))
    # yesterday afternoon's callbacks, then a morning of cold calls
    now = feed(model, None, CALLBACK, 0.4, 400, 0.0, 3.0, rng)
    now = feed(model, rates, COLD, 0.1, 3000, now + 60_000, 1.0, rng)
    assert rates.estimates().answer_rate == pytest.approx(0.1, abs=0.03)
    # 13:00: the strategy moves to callbacks. The first callback dial already carries its own chance.
    assert model.probability(CALLBACK) == pytest.approx(0.4, abs=0.08)
    assert model.probability(COLD) == pytest.approx(0.1, abs=0.04)
    # and the predictive bound dials for it: far fewer calls than for the list's (cold) rate
    est = Estimates(answer_rate=rates.estimates().answer_rate, samples=500)
    settings = PacingSettings(mode="predictive")
    for_the_list = predictive(Snapshot(10, (), (), 0, est), settings, 0.025)
    for_callbacks = predictive(Snapshot(10, (), (), 0, est, next_answer_p=(model.probability(CALLBACK),)),
                               settings, 0.025)
    assert for_callbacks < 0.7 * for_the_list


def test_a_category_with_a_prior_starts_from_it_and_one_without_starts_careful_and_learns_fast() -> None:
    model = AnswerModel(campaign_rate=0.2, category_priors={"callback": 0.45}, caution=0.0)
    assert model.probability(CALLBACK) == pytest.approx(0.45)
    assert model.probability(COLD) >= 0.5          # never dialed, no prior: assumed likely to answer
    now = feed(model, None, COLD, 0.1, 60, 0.0, 1.0, np.random.default_rng(5))
    assert model.probability(COLD) < 0.2           # a minute of dials says otherwise
    assert now == 60.0


def test_few_dials_are_shrunk_towards_the_campaign_rate_and_many_are_not() -> None:
    rng = np.random.default_rng(2)
    model = AnswerModel(campaign_rate=0.3, caution=0.0)
    now = feed(model, None, COLD, 0.3, 2000, 0.0, 1.0, rng)
    evening = DialFeatures("cold", 1, 19)
    for _ in range(3):                       # three answered dials in the evening: no proof of a 100 % hour
        model.observe(now, evening, True)
        now += 1.0
    assert model.probability(evening) < 0.45
    for _ in range(600):                     # six hundred are
        model.observe(now, evening, True)
        now += 1.0
    assert model.probability(evening) > 0.9


def test_an_unforeseen_change_is_followed_within_minutes() -> None:
    rng = np.random.default_rng(3)
    model = AnswerModel(campaign_rate=0.35, caution=0.0)
    now = feed(model, None, COLD, 0.1, 3000, 0.0, 1.0, rng)        # 50 minutes at 0.1, a dial a second
    now = feed(model, None, COLD, 0.35, 300, now, 1.0, rng)         # 5 minutes at 0.35
    assert model.probability(COLD) == pytest.approx(0.35, abs=0.07)


def test_a_category_that_is_little_known_is_read_on_its_cautious_side() -> None:
    careful, plain = AnswerModel(campaign_rate=0.2), AnswerModel(campaign_rate=0.2, caution=0.0)
    assert careful.probability(COLD) > plain.probability(COLD) + 0.05
    for model in (careful, plain):
        feed(model, None, COLD, 0.2, 3000, 0.0, 1.0, np.random.default_rng(4))
    assert careful.probability(COLD) - plain.probability(COLD) < 0.035
    # a new hour of a well-known category is not a new category
    assert careful.probability(DialFeatures("cold", 1, 19)) - plain.probability(DialFeatures("cold", 1, 19)) < 0.035


def test_impossible_priors_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="category 'callback'"):
        AnswerModel(category_priors={"callback": 1.5})


def test_a_new_hour_band_read_on_its_first_dials_keeps_close_to_its_category():
    # A morning of cold calls at 20 %, then noon: the first twenty dials of the new hour band happen to
    # answer twice as often. On a small team that is half an hour of dials and plain luck; each call's chance
    # must not jump with it (the launch rule pays for such noise in occupancy at the same abandonment).
    model = AnswerModel(campaign_rate=0.3, caution=0.0)
    now = feed(model, None, COLD, 0.2, 3000, 0.0, 1.0, np.random.default_rng(6))
    noon = DialFeatures("cold", 1, 12)
    for i in range(20):
        model.observe(now, noon, i % 5 < 2)          # 8 of 20 answered
        now += 9.0
    # (every dial is a cold call: the campaign's rate is the category's, these twenty dials included)
    assert abs(model.probability(noon) - model.campaign_rate()) < 0.02
    assert model.probability(noon) < 0.24         # 20 pseudo-dials read it at 0.30
