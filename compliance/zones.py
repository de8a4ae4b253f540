"""Where a callee is: time zones and (for US state law) the state, from the number when nothing else says.

phonenumbers maps a number's prefix to the zones its region spans; a Russian mobile prefix, for instance,
spans eleven. We keep all of them and let ``hours`` apply the most restrictive — so a list with a real
time-zone column dials far longer hours than one without, which is the right incentive.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import geocoder, timezone

from compliance.hours import zone_key
from compliance.verdict import ComplianceError

_UNKNOWN = "Etc/Unknown"


class UnknownZoneError(ComplianceError, ValueError):
    def __init__(self, phone: str) -> None:
        super().__init__(
            f"no time zone is known for {phone}; give the lead a time zone (a column in the list) or fix the number"
        )


def parse(phone: str, region: str | None = None) -> phonenumbers.PhoneNumber:
    """The number as phonenumbers parses it. An unreadable one raises ``ComplianceError`` naming it, the error
    the rules' callers already handle (an unknown state is then simply no state)."""
    try:
        return phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        raise ComplianceError(f"{phone!r} is not a phone number: {exc}") from None


def zones_for_number(phone: str, *, region: str | None = None) -> tuple[str, ...]:
    """All IANA zones the number may be in (sorted). Raises ``UnknownZoneError`` when there is none."""
    zones = tuple(sorted(z for z in timezone.time_zones_for_number(parse(phone, region)) if z != _UNKNOWN))
    if not zones:
        raise UnknownZoneError(phone)
    return zones


def zone_key_for_number(phone: str, *, region: str | None = None) -> str:
    """What to store in ``lead.timezone`` for a number with no time-zone column: one zone, or several
    joined by '|' (the hours rule then requires all of them to be inside their windows)."""
    return zone_key(zones_for_number(phone, region=region))


_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN",
    "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
    "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "Washington State": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC",
}


def us_state_for_number(phone: str) -> str | None:
    """The US state of a number's area code (USPS code), or None outside the US or when unknown.

    State telemarketing laws (Florida's, for one) presume a number with the state's area code belongs to a
    resident, so the area code is the test; a lead field naming the state should take precedence.
    The geocoder's data goes down to the exchange (+1 NPA NXX), so the answer is cached per exchange.
    """
    compact = phone.strip()
    if compact.startswith("+1") and len(compact) == 12 and compact[1:].isdigit():
        return _state_of_exchange(compact[:8])
    number = parse(phone)
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    return _state_from_place(geocoder.description_for_number(number, "en"))


@lru_cache(maxsize=65536)
def _state_of_exchange(prefix: str) -> str | None:
    number = parse(prefix + "0000")
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    return _state_from_place(geocoder.description_for_valid_number(number, "en"))


def _state_from_place(place: str) -> str | None:
    if ", " in place:
        code = place.rsplit(", ", 1)[1].strip()
        return code if len(code) == 2 and code.isupper() else None
    return _US_STATES.get(place)
