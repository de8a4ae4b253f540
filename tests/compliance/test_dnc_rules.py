from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.dnc import (
    DncError,
    RegistryImportError,
    check_scope,
    normalize_phone,
    parse_registry_lines,
    registry_verdict,
)


def test_registry_lines_in_ftc_and_e164_forms_give_e164_numbers() -> None:
    lines = ["# header", "212,5550111", "", "+1 (212) 555-0122", "2125550133"]
    assert list(parse_registry_lines(lines, file_name="f.txt", region="US")) == [
        "+12125550111", "+12125550122", "+12125550133",
    ]


def test_russian_national_format_is_normalized() -> None:
    assert normalize_phone("8 (495) 937-49-55", "RU") == "+74959374955"


def test_bad_registry_line_is_named() -> None:
    with pytest.raises(RegistryImportError) as err:
        list(parse_registry_lines(["2125550111", "12"], file_name="f.txt", region="US"))
    assert err.value.line == 2 and "f.txt line 2" in str(err.value)


def test_scope_is_company_or_a_campaign() -> None:
    assert check_scope("company") and check_scope("campaign:12")
    for bad in ("campaign:", "campaign:0", "Company", "campaign:x"):
        with pytest.raises(DncError):
            check_scope(bad)


@given(age=st.integers(-5, 100), limit=st.integers(1, 60))
def test_registry_copy_is_usable_exactly_up_to_its_age_limit(age: int, limit: int) -> None:
    today = date(2026, 6, 2)
    copy = date.fromordinal(today.toordinal() - age)
    assert bool(registry_verdict("r", copy, today, limit)) == (0 <= age <= limit)


@given(st.integers(2_000_000_000, 9_899_999_999))
def test_ten_digit_us_numbers_survive_any_punctuation(n: int) -> None:
    digits = str(n)
    shapes = [digits, f"{digits[:3]},{digits[3:]}", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"+1{digits}"]
    assert {normalize_phone(s, "US") for s in shapes} == {"+1" + digits}


@pytest.mark.parametrize(("raw", "region", "words"), [
    ("12345", None, "no country code"),
    ("abc", None, "no digits"),
    ("", None, "empty"),
    ("+1555", None, "too short"),
    ("+1 202 555 0123 4567 89", None, "too long"),
    ("+999 1234567", None, "no country has the code"),
])
def test_a_number_that_is_not_one_is_refused_in_one_line_of_our_own_words(
        raw: str, region: str | None, words: str) -> None:
    """`dialer dnc add 12345` once said "((0) Missing or invalid default region.)": the library's text."""
    with pytest.raises(DncError) as err:
        normalize_phone(raw, region)
    message = str(err.value)
    assert words in message and repr(raw) in message and "\n" not in message
    assert "(0)" not in message and "(1)" not in message and "default region" not in message


def test_an_unknown_region_is_named_as_the_region_not_the_number() -> None:
    with pytest.raises(DncError, match=r"--region 'XX'"):
        normalize_phone("2079460000", "XX")


def test_a_bad_registry_line_says_why_in_the_same_words() -> None:
    with pytest.raises(RegistryImportError) as err:
        list(parse_registry_lines(["abc"], file_name="f.txt", region="US"))
    assert str(err.value).startswith("f.txt line 1: 'abc': no digits")
