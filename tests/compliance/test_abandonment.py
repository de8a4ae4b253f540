from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.abandonment import (
    AbandonPolicy,
    abandon_policy_for,
    abandonment_verdict,
    estimated_false_positives,
    must_fall_back,
    window_rate,
)

US = abandon_policy_for("US")


def test_presets_carry_the_legal_window_and_uk_repeat_block() -> None:
    assert (US.cap, US.window, US.repeat_block) == (0.03, timedelta(days=30), None)
    uk = abandon_policy_for("UK", amd_false_positive_rate=0.02)
    assert (uk.cap, uk.window, uk.repeat_block) == (0.03, timedelta(hours=24), timedelta(hours=72))
    assert uk.amd_false_positive_rate == 0.02


def test_new_campaign_dials_progressively_until_live_answers_can_absorb_an_abandon() -> None:
    assert must_fall_back(0, 0, US)
    assert must_fall_back(30, 0, US)  # one abandon now would be 1/31 = 3.2 %
    assert not must_fall_back(60, 0, US)  # 1/61 = 1.6 %


def test_campaign_drops_to_progressive_before_it_reaches_the_cap() -> None:
    assert not must_fall_back(1000, 24, US)  # next abandon → 25/1001 = 2.497 %
    verdict = abandonment_verdict(1000, 25, US)  # next abandon → 26/1001 = 2.597 % ≥ 3 % − 0.5 %
    assert not verdict and "progressive" in verdict.reason and "2.50%" in verdict.reason


def test_rate_refuses_an_inconsistent_ledger() -> None:
    assert window_rate(0, 0) == 0.0
    with pytest.raises(ValueError, match="inconsistent"):
        window_rate(3, 4)


def test_amd_false_positive_estimate_rounds_up() -> None:
    assert estimated_false_positives(10, 0.05) == 1
    assert estimated_false_positives(20, 0.05) == 1
    assert estimated_false_positives(0, 0.05) == 0


def test_policy_rejects_a_setpoint_above_the_cap() -> None:
    with pytest.raises(ValueError, match="setpoint"):
        AbandonPolicy(cap=0.03, setpoint=0.05)


@given(live=st.integers(0, 10_000), data=st.data(), margin=st.floats(0, 0.02))
def test_a_campaign_that_obeys_must_fall_back_never_passes_the_cap_with_its_next_abandon(live, data, margin):
    abandons = data.draw(st.integers(0, live))
    if not must_fall_back(live, abandons, US, margin):
        assert window_rate(live + 1, abandons + 1) < US.cap


@given(st.lists(st.booleans(), max_size=400))
def test_abandoning_only_while_predictive_keeps_the_window_under_the_cap(answers) -> None:
    """Each live answer could be abandoned (True) only when the rule allowed predictive dialing."""
    live = abandons = 0
    for would_abandon in answers:
        predictive = not must_fall_back(live, abandons, US)
        live += 1
        abandons += would_abandon and predictive
        assert window_rate(live, abandons) < US.cap
