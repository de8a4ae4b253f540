"""Do-not-call values: scopes, phone numbers as the lists store them, registry files and their age.

Pure functions; ``compliance.store`` (``dnc_lists``) writes and reads the ``dnc`` and ``dnc_registry`` tables with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date

import phonenumbers

from compliance.verdict import ComplianceError, Verdict, allow, deny

COMPANY = "company"
DEFAULT_REGISTRY_MAX_AGE_DAYS = 31  # FTC TSR safe harbor, 16 CFR 310.4(b)(3)(iv): a copy ≤ 31 days old
_SCOPE = re.compile(r"^(company|campaign:[1-9][0-9]*)$")
_SEPARATORS = re.compile(r"[\s,;\-().]")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class DncError(ComplianceError, ValueError):
    """A do-not-call entry or file that cannot be taken as given."""


class NotAPhoneNumber(DncError):
    """A value given as a phone number that is not one; ``why`` says what is wrong, in one line."""

    def __init__(self, value: str, why: str) -> None:
        super().__init__(f"phone number {value!r}: {why}")
        self.value = value
        self.why = why


class RegistryImportError(DncError):
    def __init__(self, file_name: str, line: int, value: str, why: str) -> None:
        super().__init__(
            f"{file_name} line {line}: {value!r}: {why}; nothing was imported — fix the line or remove it"
        )
        self.line = line
        self.value = value


class StaleRegistryError(ComplianceError):
    """Dialing (or importing) against a registry copy older than the allowed age."""

    def __init__(self, name: str, copy_date: date, today: date, max_age_days: int) -> None:
        super().__init__(
            f"do-not-call registry {name!r} is a copy of {copy_date.isoformat()}, {(today - copy_date).days} days "
            f"old (limit {max_age_days}); download a fresh copy and `dialer dnc import` it before dialing"
        )
        self.name = name
        self.copy_date = copy_date


def campaign_scope(campaign_id: int) -> str:
    """The scope of a campaign's own do-not-call list, as the ``dnc`` table stores it beside ``company``."""
    return f"campaign:{campaign_id}"


def check_scope(scope: str) -> str:
    """``scope`` if it is ``company`` or ``campaign:<id>``; anything else would file an entry no claim reads."""
    if not _SCOPE.match(scope):
        raise DncError(f"do-not-call scope {scope!r}: use 'company' or 'campaign:<id>'")
    return scope


def normalize_phone(raw: str, region: str | None = None) -> str:
    """E.164 ('+15551234567'), as lead.phone holds it, or ``DncError`` naming the value and saying in one
    line of our own words what is wrong (phonenumbers' messages name its internals: "(0) Missing or invalid
    default region.")."""
    text = raw.strip()
    if not text:
        raise NotAPhoneNumber(raw, "empty")
    if region and region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise DncError(f"--region {region!r} is not a country code phonenumbers knows; use two letters "
                       "such as US, GB or RU")
    compact = _SEPARATORS.sub("", text)
    if _E164.match(compact) and _known_country(compact[1:]):
        return compact
    if region and region.upper() in ("US", "CA") and compact.isdigit() and len(compact) == 10:
        return "+1" + compact  # the common case of registry files, without parsing a million times
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        why = _PARSE_WHY.get(exc.error_type, "not a phone number")
        if exc.error_type == exc.INVALID_COUNTRY_CODE and compact.startswith("+"):
            why = "no country has the code it starts with"
        raise NotAPhoneNumber(raw, why) from None
    why = phonenumbers.is_possible_number_with_reason(number)
    if why != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise NotAPhoneNumber(raw, _POSSIBLE_WHY.get(why, "not a possible phone number")
                              .format(cc=number.country_code))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _known_country(digits: str) -> bool:
    return any(int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for n in (1, 2, 3))


_NO_COUNTRY = "no country code: write it as +<country code><number> (e.g. +12025550123) or give --region"
_PARSE_WHY = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: _NO_COUNTRY,
    phonenumbers.NumberParseException.NOT_A_NUMBER: "no digits of a phone number in it",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    phonenumbers.NumberParseException.TOO_LONG: "too long to be a phone number",
}
_POSSIBLE_WHY = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "no country has the code +{cc}",
    phonenumbers.ValidationResult.TOO_SHORT: "too short to be a number of country +{cc}",
    phonenumbers.ValidationResult.TOO_LONG: "too long to be a number of country +{cc}",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a length numbers of country +{cc} have",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number only: give it with its area code",
}


def parse_registry_lines(lines: Iterable[str], *, file_name: str, region: str | None) -> Iterator[str]:
    """Numbers of a registry file: one per line (``555,1234567`` or ``+15551234567`` or national format);
    blank lines and lines starting with '#' are skipped. The first bad line stops the import."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            yield normalize_phone(text, region)
        except NotAPhoneNumber as exc:
            raise RegistryImportError(file_name, number, text, exc.why) from None


def registry_verdict(name: str, copy_date: date, today: date, max_age_days: int) -> Verdict:
    """Whether a registry copy of ``copy_date`` may still be dialed against: the TSR safe harbor holds only
    while the copy is at most ``max_age_days`` old, and a date in the future is a typing mistake, not a fresh copy."""
    age = (today - copy_date).days
    if age > max_age_days:
        return deny(str(StaleRegistryError(name, copy_date, today, max_age_days)))
    if age < 0:
        return deny(f"do-not-call registry {name!r} has a copy date in the future ({copy_date}); fix the date")
    return allow(f"do-not-call registry {name!r}: copy of {copy_date.isoformat()}, {age} days old")
