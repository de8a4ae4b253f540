from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from compliance.caps import ContactHistory
from compliance.rules import CampaignRules
from compliance.windows import WindowError
from compliance.zones import UnknownZoneError, us_state_for_number, zone_key_for_number, zones_for_number

NY = ZoneInfo("America/New_York")


def test_number_without_a_zone_column_gets_every_zone_of_its_region() -> None:
    assert zones_for_number("+12125550111") == ("America/New_York",)
    assert zone_key_for_number("+61881234567") == "Australia/Adelaide|Australia/Perth"
    assert len(zones_for_number("+79161234567")) > 5  # Russian mobiles: the whole country


def test_number_of_no_known_zone_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownZoneError, match="time zone"):
        zones_for_number("+15555555555")


def test_us_state_comes_from_the_area_code() -> None:
    assert us_state_for_number("+13055550111") == "FL"
    assert us_state_for_number("+14055550111") == "OK"
    assert us_state_for_number("+12125550111") == "NY"
    assert us_state_for_number("+447911123456") is None


def test_lead_check_applies_the_callees_state_law_and_says_when_to_retry() -> None:
    rules = CampaignRules(preset="US")
    evening = datetime(2026, 6, 2, 20, 30, tzinfo=NY)
    assert rules.check("+12125550111", evening, zone="America/New_York")
    verdict = rules.check("+13055550111", evening, zone="America/New_York")
    assert not verdict and "Florida" in verdict.reason
    assert verdict.retry_at == datetime(2026, 6, 3, 8, 0, tzinfo=NY)
    # A state given in the lead's fields wins over the area code.
    assert not rules.check("+12125550111", evening, zone="America/New_York", fields={"state": "fl"})


def test_russian_lead_check_counts_conversations_across_the_day() -> None:
    rules = CampaignRules(preset="RU")
    noon = datetime(2026, 6, 3, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    talked = ContactHistory(conversations=(noon - timedelta(hours=3),))
    verdict = rules.check("+74959374955", noon, zone="Europe/Moscow", history=talked)
    assert not verdict and verdict.retry_at == noon + timedelta(hours=21)


def test_zone_of_prefers_the_lead_columns_over_the_number() -> None:
    rules = CampaignRules()
    assert rules.zone_of("+12125550111", ["America/Chicago", "America/Denver"]) == "America/Chicago|America/Denver"
    assert rules.zone_of("+12125550111", [], "Europe/London") == "Europe/London"
    assert rules.zone_of("+12125550111") == "America/New_York"


def test_bad_campaign_windows_fail_when_the_rules_are_loaded() -> None:
    with pytest.raises(WindowError):
        CampaignRules(preset="US", windows="9-5")


def test_check_uses_utc_moments_as_well_as_local_ones() -> None:
    rules = CampaignRules(preset="UK")
    assert not rules.check("+447911123456", datetime(2026, 6, 2, 6, 59, tzinfo=UTC), zone="Europe/London")
    assert rules.check("+447911123456", datetime(2026, 6, 2, 7, 0, tzinfo=UTC), zone="Europe/London")


def test_changed_rules_do_not_reuse_the_old_policy() -> None:
    from dataclasses import replace

    before = CampaignRules()
    assert before.policy().name == "no preset"
    assert replace(before, preset="RU").policy().name.startswith("RU")


def test_uk_lead_check_holds_a_number_72h_after_an_abandoned_call() -> None:
    rules = CampaignRules(preset="UK")
    noon = datetime(2026, 6, 3, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    abandoned = ContactHistory(abandons=(noon - timedelta(hours=71),))
    verdict = rules.check("+442079460111", noon, zone="Europe/London", history=abandoned)
    assert not verdict and "Ofcom" in verdict.reason and verdict.retry_at == noon + timedelta(hours=1)
    assert rules.check("+442079460111", noon + timedelta(hours=1), zone="Europe/London", history=abandoned)
    assert CampaignRules(preset="US").check("+12125550111", datetime(2026, 6, 3, 12, 0, tzinfo=NY),
                                            zone="America/New_York", history=abandoned)
