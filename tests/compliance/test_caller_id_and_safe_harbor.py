from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.caller_id import CallerIdError, caller_id_for
from compliance.safe_harbor import (
    SafeHarbor,
    SafeHarborError,
    may_stop_ringing,
    message_text,
    must_play_message,
)

POOL = {"+1305": ["+13055550100", "+13055550101"], "+1": ["+12125550100"], "GB": ["+442079460000"]}


def test_caller_id_is_never_blank() -> None:
    for blank in ("", "   "):
        with pytest.raises(CallerIdError, match="blank"):
            caller_id_for(blank, "+12125550111")
    with pytest.raises(CallerIdError, match="not a phone number"):
        caller_id_for("ACME", "+12125550111")


def test_local_presence_prefers_the_longest_prefix_then_the_region() -> None:
    assert caller_id_for("+18005550100", "+13055550111", pool=POOL) in POOL["+1305"]
    assert caller_id_for("+18005550100", "+14155550111", pool=POOL) == "+12125550100"
    assert caller_id_for("+18005550100", "+442079460123", pool=POOL) == "+442079460000"
    assert caller_id_for("+18005550100", "+74959374955", pool=POOL) == "+18005550100"


def test_a_blank_number_in_the_pool_is_an_error_not_a_blank_caller_id() -> None:
    with pytest.raises(CallerIdError, match="local-presence"):
        caller_id_for("+18005550100", "+13055550111", pool={"+1305": [" "]})


@given(st.integers(2_000_000_000, 9_899_999_999))
def test_the_same_callee_always_sees_the_same_local_number(n: int) -> None:
    phone = f"+1{n}"
    assert caller_id_for("+18005550100", phone, pool=POOL) == caller_id_for("+18005550100", phone, pool=POOL)


def test_safe_harbor_refuses_a_wait_over_two_seconds_and_a_short_ring() -> None:
    with pytest.raises(SafeHarborError, match="safe_harbor_s"):
        SafeHarbor("Acme", "+18005550100", max_wait_s=2.5)
    with pytest.raises(SafeHarborError, match="ring_timeout_s"):
        SafeHarbor("Acme", "+18005550100", min_ring_s=10)
    with pytest.raises(SafeHarborError, match="seller"):
        SafeHarbor(" ", "+18005550100")


def test_answered_call_without_operator_gets_the_message_at_two_seconds() -> None:
    policy = SafeHarbor("Acme Energy", "+18005550100", max_wait_s=1.5)
    assert not must_play_message(100.0, 101.49, policy)
    assert must_play_message(100.0, 101.5, policy)
    assert "Acme Energy" in message_text(policy) and "+18005550100" in message_text(policy)


def test_unanswered_call_rings_at_least_15_seconds() -> None:
    policy = SafeHarbor("Acme", "+18005550100")
    assert not may_stop_ringing(10.0, 24.9, policy)
    assert may_stop_ringing(10.0, 25.0, policy)
