"""Legal limits have one owner: each figure is defined once per preset, a setting may tighten it and never
loosen it, and the refusal names the setting, the limit and the rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.limits import LegalLimitError, check_pacing, check_ring, legal_limits
from compliance.presets import UnknownPresetError
from dialer.runner import pacing_settings
from dialer.sim.whatif import WhatIf, simulate_campaign
from lists.campaigns import Campaign


def test_each_preset_carries_its_cap_window_safe_harbor_and_ring() -> None:
    us, uk, ru, none = (legal_limits(p) for p in ("US", "UK", "RU", None))
    assert (us.abandon_cap, us.abandon_window, us.max_wait_s, us.min_ring_s) == (0.03, timedelta(days=30), 2.0, 15.0)
    assert uk.abandon_window == timedelta(hours=24)
    assert "no statute" in ru.abandon_source and "no statute" in none.abandon_source
    assert "3%" in none.describe() and "30 days" in none.describe()     # without a preset it still says its cap
    with pytest.raises(UnknownPresetError):
        legal_limits("XX")


def test_a_looser_cap_is_refused_naming_the_rule() -> None:
    with pytest.raises(LegalLimitError) as refused:
        check_pacing({"abandon_cap": 0.2}, legal_limits("US"))
    assert str(refused.value) == "abandon_cap 0.2 is above the US limit of 0.03 (47 CFR 64.1200(a)(7))"


@pytest.mark.parametrize(("pacing", "named"), [
    ({"safe_harbor_s": 10}, "safe_harbor_s 10 is above the UK limit of 2"),
    ({"window_hours": 48}, "window_hours 48 is above the UK limit of 24"),
    ({"target_abandon": 0.05}, "target_abandon 0.05 is not below the UK abandonment cap"),
    ({"optimize": "abandon", "optimize_target": 0.04}, "optimize_target 0.04"),
])
def test_every_loosening_is_refused(pacing: dict, named: str) -> None:
    with pytest.raises(LegalLimitError, match=named.replace("(", r"\(")):
        check_pacing(pacing, legal_limits("UK"))


def test_tightening_is_allowed() -> None:
    check_pacing({"abandon_cap": 0.02, "target_abandon": 0.01, "safe_harbor_s": 1.5, "window_hours": 12},
                 legal_limits("UK"))
    check_pacing({"optimize": "wait", "optimize_target": 30}, legal_limits("UK"))    # seconds, not a share
    check_ring(20, legal_limits("US"))
    with pytest.raises(LegalLimitError, match="ring_timeout_s 10 is below the US minimum ring of 15 s"):
        check_ring(10, legal_limits("US"))


@given(cap=st.floats(0.001, 0.9), window=st.floats(1, 10_000), wait=st.floats(0.1, 60), target=st.floats(0.001, 0.9),
       preset=st.sampled_from(["US", "UK", "RU", None]))
def test_whatever_a_stored_document_says_the_engine_dials_within_the_limits(cap, window, wait, target, preset) -> None:
    limits = legal_limits(preset)
    campaign = Campaign(1, "c", "running", "predictive", {"abandon_cap": cap, "window_hours": window,
                                                          "safe_harbor_s": wait, "target_abandon": min(target, cap)},
                        "Local/{phone}@t", "+74951234567", "UTC", "RU", 25, 2.0)
    settings = pacing_settings(campaign, limits=limits)
    assert settings.abandon_cap <= limits.abandon_cap
    assert settings.window_hours <= limits.window_hours
    assert settings.safe_harbor_s <= limits.max_wait_s
    assert settings.target_abandon < settings.abandon_cap


def test_simulate_refuses_a_target_above_the_cap_instead_of_running_past_it() -> None:
    with pytest.raises(LegalLimitError,
                       match=r"target_abandon 0\.1 is not below the abandonment cap of 0\.03 \(no statute"):
        simulate_campaign(WhatIf(5, 0.3, 60.0, 5.0, 0.1, "predictive", target_abandon=0.1))


def test_a_campaign_that_set_no_cap_or_safe_harbor_dials_with_the_laws_own() -> None:
    campaign = Campaign(1, "c", "running", "predictive", {}, "Local/{phone}@t", "+74951234567", "UTC", "RU", 25, 2.0)
    held = pacing_settings(campaign, limits=legal_limits("UK"))
    assert (held.abandon_cap, held.safe_harbor_s) == (legal_limits("UK").abandon_cap, legal_limits("UK").max_wait_s)


def test_without_a_preset_the_rule_says_no_preset_once() -> None:
    """The compliance report read "no preset; no preset: no statute…", and refusals "the no preset limit"."""
    from compliance.abandonment import abandon_policy_for

    assert abandon_policy_for(None).source == "no statute: the dialer's own limit — 3% per 30 days"
    assert abandon_policy_for("US").source.startswith("US: 47 CFR")
    with pytest.raises(LegalLimitError, match=r"^abandon_cap 0\.05 is above the limit of 0\.03 \(no statute"):
        check_pacing({"abandon_cap": 0.05}, legal_limits(None))
