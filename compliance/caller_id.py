"""Which number the callee sees. Never blank: the FTC Telemarketing Sales Rule (16 CFR 310.4(a)(8)) requires
caller ID to be transmitted, and Ofcom's persistent-misuse policy wants a valid, returnable number.

Local presence: a campaign may keep a pool of caller IDs keyed by the callee's area (an E.164 prefix like
'+1305', or a region code like 'GB'); the longest matching prefix wins, then the region, then the
campaign's own caller ID. Within a pool entry the choice is a stable hash of the callee's number, so the
same person always sees the same number (a callback to it reaches the same campaign).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from functools import lru_cache

import phonenumbers

from compliance.verdict import ComplianceError


class CallerIdError(ComplianceError, ValueError):
    """No usable caller ID: the campaign must not dial until one is set."""


@lru_cache(maxsize=4096)   # every claimed lead asks again for the same few numbers
def valid_caller_id(number: str, *, where: str = "campaign caller ID") -> str:
    """``number`` in E.164, or ``CallerIdError`` naming ``where``: the law wants a caller ID the callee can call
    back, so a blank or impossible number is refused rather than sent."""
    text = (number or "").strip()
    if not text:
        raise CallerIdError(f"{where} is blank; set a number the callee can call back")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise CallerIdError(f"{where} {number!r} is not a phone number in +E.164 form") from None
    if not phonenumbers.is_possible_number(parsed):
        raise CallerIdError(f"{where} {number!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def caller_id_for(
    default_caller_id: str, phone: str, *, caller_ids: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The caller ID to present to ``phone``. Raises ``CallerIdError`` instead of ever returning blank."""
    default = valid_caller_id(default_caller_id)
    if not caller_ids:
        return default
    candidates: Sequence[str] = ()
    prefixes = sorted((k for k in caller_ids if k.startswith("+")), key=len, reverse=True)
    for prefix in prefixes:
        if phone.startswith(prefix) and caller_ids[prefix]:
            candidates = caller_ids[prefix]
            break
    if not candidates:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
        except phonenumbers.NumberParseException:
            region = None
        candidates = caller_ids.get(region or "", ()) if region else ()
    if not candidates:
        return default
    chosen = candidates[zlib.crc32(phone.encode()) % len(candidates)]
    return valid_caller_id(chosen, where=f"local-presence caller ID for {phone}")
