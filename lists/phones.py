"""Phone numbers in, E.164 and candidate time zones out.

phonenumbers (the Python port of Google's libphonenumber) is the reference, but its ``parse`` costs ~30 µs,
which alone would eat half of the one-minute budget for a million-row import. So the usual shapes of a
number ("8 (495) 937-49-55", "+7 916 123-45-67", "(212) 555-1234") take a short path: separators removed,
country code and national prefix split with the same metadata phonenumbers uses, then validated with
``phonenumbers.number_type``. Anything ambiguous (a national prefix that might also be a leading digit,
an international prefix such as 810, letters, extensions, leading zeros) goes to ``phonenumbers.parse``.
``tests/lists/test_phones.py`` checks with hypothesis that both paths always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as phone_timezone

from lists.errors import PhoneError

_SEPARATORS = str.maketrans("", "", " ()-.\u00a0\t/")
_UNKNOWN_ZONE = "Etc/Unknown"


class Phone(NamedTuple):
    e164: str
    timezones: tuple[str, ...]  # every zone the number may be in; () when phonenumbers cannot tell


@lru_cache(maxsize=512)
def _metadata(region: str) -> PhoneMetadata:
    metadata = PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None:
        raise PhoneError(f"unknown region {region!r}: use a two-letter ISO code such as RU, US, GB")
    return metadata


@lru_cache(maxsize=512)
def _country_metadata(cc: int) -> PhoneMetadata | None:
    region = phonenumbers.region_code_for_country_code(cc)
    return PhoneMetadata.metadata_for_region(region) if region != "ZZ" else None


_country_zones: dict[int, tuple[str, ...]] = {}


def _known(zones: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(z for z in zones if z != _UNKNOWN_ZONE)


def _zones(number: PhoneNumber, number_type: int) -> tuple[str, ...]:
    # Same rule as phonenumbers.timezone.time_zones_for_number: geographic numbers by prefix, the rest
    # (most mobiles) get every zone of their country. Country-level zones depend on the code only.
    if phonenumbers.is_number_type_geographical(number_type, number.country_code):
        return _known(phone_timezone.time_zones_for_geographical_number(number))
    zones = _country_zones.get(number.country_code)
    if zones is None:
        zones = _country_zones[number.country_code] = _known(phone_timezone.time_zones_for_number(number))
    return zones


_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)
_Desc = tuple[frozenset[int], re.Pattern[str]] | None


def _desc(desc: object) -> _Desc:
    pattern = getattr(desc, "national_number_pattern", None) if desc is not None else None
    if not pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(pattern)  # type: ignore[union-attr]


def _matches(nsn: str, desc: _Desc) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


class _Classifier:
    """phonenumbers' ``_number_type_helper`` with its patterns compiled once into one alternation.

    phonenumbers looks each type's pattern up in a cache and tests the types one by one on every call,
    which dominated a million-row import. Here the types are branches of one regular expression, in the
    same order, each guarded by its possible lengths; ``fullmatch`` returns the first branch that matches the
    whole number, which is the type phonenumbers would return (checked in tests/lists/test_phones.py)."""

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.general = _desc(metadata.general_desc)
        self.mobile = _desc(metadata.mobile)
        self.same = bool(metadata.same_mobile_and_fixed_line_pattern)
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        branches = [(name, getattr(metadata, name)) for name, _ in _TYPE_ORDER]
        branches.append(("fixed_line", metadata.fixed_line))
        if not self.same:
            branches.append(("mobile", metadata.mobile))
        parts = []
        for name, desc in branches:
            pattern = getattr(desc, "national_number_pattern", None) if desc is not None else None
            if not pattern:
                continue
            lengths = "|".join(rf"\d{{{n}}}\Z" for n in sorted(desc.possible_length or ()))
            guard = f"(?={lengths})" if lengths else ""
            parts.append(f"(?P<{name}>{guard}(?:{pattern}))")
        self.first = re.compile("|".join(parts)) if parts else None

    def number_type(self, nsn: str) -> int:
        if not _matches(nsn, self.general) or self.first is None:
            return PhoneNumberType.UNKNOWN
        match = self.first.fullmatch(nsn)
        if match is None:
            return PhoneNumberType.UNKNOWN
        kind = match.lastgroup
        if kind == "fixed_line":
            if self.same or _matches(nsn, self.mobile):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if kind == "mobile":
            return PhoneNumberType.MOBILE
        return _TYPE_BY_NAME[kind]


_TYPE_BY_NAME = dict(_TYPE_ORDER)


@lru_cache(maxsize=512)
def _classifier(region: str) -> _Classifier:
    return _Classifier(PhoneMetadata.metadata_for_region(region))


@lru_cache(maxsize=512)
def _candidates(cc: int) -> tuple[tuple[str, _Classifier | None], ...]:
    """The regions sharing a country code, in phonenumbers' order; None where it has no region metadata."""
    found = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
        usable = region != "001" and PhoneMetadata.metadata_for_region(region) is not None
        found.append((region, _classifier(region) if usable else None))
    return tuple(found)


def _number_type(cc: int, nsn: str) -> int:
    """phonenumbers.number_type for country code + national significant number (no leading zero)."""
    candidates = _candidates(cc)
    if len(candidates) == 1:
        classifier = candidates[0][1]
        if classifier is None:
            return phonenumbers.number_type(PhoneNumber(country_code=cc, national_number=int(nsn)))
        return classifier.number_type(nsn)
    # shared codes (+1, +7): the first region whose leading digits or patterns fit, as phonenumbers does
    for _, classifier in candidates:
        if classifier is None:
            continue
        if classifier.leading is not None:
            if classifier.leading.match(nsn):
                return classifier.number_type(nsn)
        else:
            kind = classifier.number_type(nsn)
            if kind != PhoneNumberType.UNKNOWN:
                return kind
    return PhoneNumberType.UNKNOWN


@dataclass(frozen=True)
class _Country:
    """What the short path needs of one country's metadata, compiled once."""

    cc: int
    cc_text: str
    region: str
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    transform: bool
    general: _Desc


def _country(metadata: PhoneMetadata, region: str) -> _Country:
    def compiled(pattern: str | None) -> re.Pattern[str] | None:
        return re.compile(pattern) if pattern else None

    return _Country(metadata.country_code, str(metadata.country_code), region,
                    compiled(metadata.international_prefix), compiled(metadata.national_prefix_for_parsing),
                    bool(metadata.national_prefix_transform_rule), _desc(metadata.general_desc))


@lru_cache(maxsize=512)
def _by_region(region: str) -> _Country:
    return _country(_metadata(region), region.upper())


@lru_cache(maxsize=512)
def _by_code(cc: int) -> _Country | None:
    metadata = _country_metadata(cc)
    return _country(metadata, phonenumbers.region_code_for_country_code(cc)) if metadata else None


def _geographic_zones(digits: str) -> tuple[str, ...]:
    # phonenumbers.timezone.time_zones_for_geographical_number, on the E.164 digits we already have
    data = phone_timezone.TIMEZONE_DATA
    for size in range(min(phone_timezone.TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        zones = data.get(digits[:size])
        if zones is not None:
            return _known(zones)
    return ()


def _short_path(raw: str, region: str) -> Phone | None:
    """The E.164 form when the number has a plain shape, else None (meaning: ask phonenumbers.parse)."""
    text = raw.strip().translate(_SEPARATORS)
    international = text.startswith("+")
    digits = text[1:] if international else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 17:
        return None
    if international:
        for size in (1, 2, 3):
            country = _by_code(int(digits[:size]))
            if country is not None:
                break
        else:
            return None
        nsn = digits[size:]
        if country.national_prefix and country.national_prefix.match(nsn):
            return None
    else:
        country = _by_region(region)
        if country.international_prefix and country.international_prefix.match(digits):
            return None
        nsn = digits
        prefix = country.national_prefix
        if digits.startswith(country.cc_text):
            # "79161234567" in Russia: phonenumbers drops the country code when that turns an invalid
            # national number into a valid-looking one; any other case goes to phonenumbers.
            rest = digits[len(country.cc_text):]
            if (prefix and prefix.match(rest)) or _matches(digits, country.general) \
                    or not _matches(rest, country.general):
                return None
            nsn = rest
        elif prefix:
            match = prefix.match(digits)
            if match:
                if country.transform or match.lastindex or country.general is None:
                    return None
                if _matches(digits, country.general):
                    return None  # could be a number that merely starts like the prefix
                nsn = digits[match.end():]
    if not nsn or nsn[0] == "0":
        return None  # leading zeros (Italy) need phonenumbers' italian_leading_zero handling
    cc = country.cc
    number_type = _number_type(cc, nsn)
    if number_type == PhoneNumberType.UNKNOWN:
        return None
    e164 = f"+{cc}{nsn}"
    if phonenumbers.is_number_type_geographical(number_type, cc):
        return Phone(e164, _geographic_zones(e164[1:]))
    zones = _country_zones.get(cc)  # country-level zones depend on the code only
    if zones is None:
        zones = _zones(PhoneNumber(country_code=cc, national_number=int(nsn)), number_type)
    return Phone(e164, zones)


def reference(raw: str, region: str) -> Phone:
    """The slow, authoritative path: phonenumbers.parse and is_valid_number."""
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"not a valid number (default region {region.upper()})")
    zones = _known(phone_timezone.time_zones_for_number(number))
    return Phone(phonenumbers.format_number(number, PhoneNumberFormat.E164), zones)


def normalize(raw: str, region: str) -> Phone:
    """E.164 and candidate zones of ``raw``, read with ``region`` as the default country.
    Raises PhoneError with the reason when the number is not dialable."""
    if not raw or not raw.strip():
        raise PhoneError("empty")
    _metadata(region)  # an unknown region is a setting error, reported as such
    return _short_path(raw, region) or reference(raw, region)
