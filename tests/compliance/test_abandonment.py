from __future__ import annotations

from datetime import timedelta

import pytest

from compliance.abandonment import AbandonPolicy, abandon_policy_for, estimated_false_positives, window_rate

US = abandon_policy_for("US")


def test_presets_carry_the_legal_window_and_uk_repeat_block() -> None:
    assert (US.cap, US.window, US.repeat_block) == (0.03, timedelta(days=30), None)
    uk = abandon_policy_for("UK", amd_false_positive_rate=0.02)
    assert (uk.cap, uk.window, uk.repeat_block) == (0.03, timedelta(hours=24), timedelta(hours=72))
    assert uk.amd_false_positive_rate == 0.02


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
        AbandonPolicy(cap=0.03, window=timedelta(days=30), setpoint=0.05, source="test")
