"""E.164 normalization: the short path must always agree with phonenumbers itself."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lists.errors import PhoneError
from lists.phones import normalize, reference

REGIONS = ["RU", "US", "GB", "DE", "FR", "KZ", "UA", "BY", "IT", "BR", "IN", "AU", "MX", "AR", "CN", "JP"]


def outcome(raw: str, region: str) -> object:
    try:
        return normalize(raw, region)
    except PhoneError:
        return "invalid"


def expected(raw: str, region: str) -> object:
    try:
        return reference(raw, region)
    except PhoneError:
        return "invalid"


def test_russian_number_written_the_excel_way_becomes_e164_in_moscow() -> None:
    phone = normalize("8 (495) 937-49-55", "RU")
    assert phone.e164 == "+74959374955"
    assert phone.timezones == ("Europe/Moscow",)


def test_russian_mobile_may_be_in_any_russian_zone() -> None:
    zones = normalize("+7 916 123-45-67", "RU").timezones
    assert "Europe/Moscow" in zones and "Asia/Vladivostok" in zones


@pytest.mark.parametrize("raw", ["", "   ", "8 (999) 1", "hello", "+999 123"])
def test_not_dialable_numbers_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalize(raw, "RU")


def test_an_unknown_default_region_is_named() -> None:
    with pytest.raises(PhoneError, match="XX"):
        normalize("123", "XX")


digits = st.text(alphabet="0123456789", min_size=4, max_size=14)
separators = st.sampled_from(["", " ", "-", "(", ")", ".", "  "])


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """Digits the way people type them: optional '+', a national prefix, separators anywhere."""
    body = draw(digits)
    start = draw(st.sampled_from(["", "+", "8", "0", "1", "7", "+7", "+1", "+44", "+49", "00", "810", "+380", "+39"]))
    pieces = [start]
    for ch in body:
        pieces.append(draw(separators) if draw(st.booleans()) else "")
        pieces.append(ch)
    return "".join(pieces)


@settings(max_examples=800, deadline=None)
@given(raw=written_numbers(), region=st.sampled_from(REGIONS))
def test_short_path_agrees_with_phonenumbers(raw: str, region: str) -> None:
    assert outcome(raw, region) == expected(raw, region)


@settings(max_examples=200, deadline=None)
@given(region=st.sampled_from(REGIONS), kind=st.sampled_from(["fixed", "mobile"]),
       fmt=st.sampled_from([phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                            phonenumbers.PhoneNumberFormat.E164]))
def test_every_valid_example_number_survives_any_format(region: str, kind: str, fmt: int) -> None:
    number = (phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.FIXED_LINE if kind == "fixed" else phonenumbers.PhoneNumberType.MOBILE))
    if number is None:
        return
    written = phonenumbers.format_number(number, fmt)
    assert normalize(written, region).e164 == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=200, deadline=None)
@given(raw=written_numbers())
def test_normalizing_twice_changes_nothing(raw: str) -> None:
    first = outcome(raw, "RU")
    if first != "invalid":
        assert normalize(first.e164, "RU") == first  # type: ignore[union-attr]
