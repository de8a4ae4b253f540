from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.caller_id import CallerIdError, caller_id_for

IDS = {"+1305": ["+13055550100", "+13055550101"], "+1": ["+12125550100"], "GB": ["+442079460000"]}


def test_caller_id_is_never_blank() -> None:
    for blank in ("", "   "):
        with pytest.raises(CallerIdError, match="blank"):
            caller_id_for(blank, "+12125550111")
    with pytest.raises(CallerIdError, match="not a phone number"):
        caller_id_for("ACME", "+12125550111")


def test_local_presence_prefers_the_longest_prefix_then_the_region() -> None:
    assert caller_id_for("+18005550100", "+13055550111", caller_ids=IDS) in IDS["+1305"]
    assert caller_id_for("+18005550100", "+14155550111", caller_ids=IDS) == "+12125550100"
    assert caller_id_for("+18005550100", "+442079460123", caller_ids=IDS) == "+442079460000"
    assert caller_id_for("+18005550100", "+74959374955", caller_ids=IDS) == "+18005550100"


def test_a_blank_number_in_the_pool_is_an_error_not_a_blank_caller_id() -> None:
    with pytest.raises(CallerIdError, match="local-presence"):
        caller_id_for("+18005550100", "+13055550111", caller_ids={"+1305": [" "]})


@given(st.integers(2_000_000_000, 9_899_999_999))
def test_the_same_callee_always_sees_the_same_local_number(n: int) -> None:
    phone = f"+1{n}"
    assert caller_id_for("+18005550100", phone, caller_ids=IDS) == caller_id_for("+18005550100", phone, caller_ids=IDS)
