"""Legal presets: the calling hours, holidays and contact caps a jurisdiction imposes.

Sources are named in each rule so that a refusal in the log says which law refused. These are the rules
as we read them; they are configuration, not legal advice — have counsel confirm them for your campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from compliance.caps import ContactCap
from compliance.verdict import ComplianceError
from compliance.windows import CLOSED, HoursRule, Window, Windows, every_day

PRESETS = ("US", "UK", "RU")


class UnknownPresetError(ComplianceError, ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no compliance preset named {name!r}; choose one of {', '.join(PRESETS)} or none")


@dataclass(frozen=True)
class StateOverride:
    rule: HoursRule
    caps: tuple[ContactCap, ...] = ()


@dataclass(frozen=True)
class Preset:
    name: str
    rule: HoursRule
    caps: tuple[ContactCap, ...] = ()
    states: dict[str, StateOverride] = field(default_factory=dict)
    # The law that wants the recorded message of an abandoned call to say who calls (the seller prompt of
    # the safe-harbor message); empty: no such rule, and `dialer campaign start` does not insist.
    seller_named_by: str = ""


def _hours(start: int, end: int) -> Windows:
    return (Window(start * 60, end * 60),)


# US federal: Telemarketing Sales Rule 16 CFR 310.4(c) and TCPA rules 47 CFR 64.1200(c)(1) — no call before
# 8 a.m. or after 9 p.m. local time at the called person's location. No federal holiday rule: holidays are
# the user's calendar (closed on the dates configured).
_US = HoursRule("US federal (16 CFR 310.4(c); 47 CFR 64.1200(c)(1))", (_hours(8, 21),) * 7, on_holiday=CLOSED)


def _three_a_day(source: str) -> tuple[ContactCap, ...]:
    return (ContactCap(3, timedelta(hours=24), "attempts", source),)


# "Mini-TCPA" state laws that narrow the federal rule (telephone solicitation). Keyed by USPS code.
_US_STATES = {
    # Florida Telephone Solicitation Act (Fla. Stat. § 501.059, as amended 2021): 8 a.m.–8 p.m. and at most
    # 3 calls from the same person on the same subject in 24 hours.
    "FL": StateOverride(
        every_day("Florida FTSA (Fla. Stat. § 501.059)", _hours(8, 20)),
        _three_a_day("Florida FTSA (Fla. Stat. § 501.059)"),
    ),
    # Oklahoma Telephone Solicitation Act of 2022: the same shape as Florida's.
    "OK": StateOverride(
        every_day("Oklahoma Telephone Solicitation Act", _hours(8, 20)),
        _three_a_day("Oklahoma Telephone Solicitation Act"),
    ),
    # Maryland Stop the Spam Calls Act (2023): the same shape.
    "MD": StateOverride(
        every_day("Maryland Stop the Spam Calls Act", _hours(8, 20)),
        _three_a_day("Maryland Stop the Spam Calls Act"),
    ),
    # Texas Bus. & Com. Code § 301.051: not before 9 a.m. or after 9 p.m. Monday–Saturday, and on Sunday
    # not before noon or after 9 p.m.
    "TX": StateOverride(
        HoursRule("Texas (Bus. & Com. Code § 301.051)", (_hours(9, 21),) * 6 + (_hours(12, 21),)),
    ),
}

# UK: Ofcom's persistent-misuse policy does not fix calling hours. 08:00–21:00 every day is the industry
# norm (DMA guidance and common practice), used here as a default — narrow it with campaign windows.
_UK = HoursRule("UK industry norm 08:00–21:00 (not set by Ofcom)", (_hours(8, 21),) * 7, on_holiday=CLOSED)

# Russia, debt collection: Federal Law 230-FZ art. 7 pt. 3 — no direct interaction on working days between
# 22:00 and 08:00, on weekends and non-working public holidays between 20:00 and 09:00, local time of the
# debtor; telephone conversations at most once a day, twice a week, eight times a month.
_RU_SOURCE = "230-FZ art. 7 pt. 3"
# Non-working public holidays, Labour Code art. 112 pt. 1. Government transfers of days off (decreed every
# year) are not computable: add them to the holiday calendar by date. A transferred *working* Saturday keeps
# the weekend hours here, which is the more restrictive reading.
RU_ANNUAL_HOLIDAYS = frozenset(
    [(1, d) for d in range(1, 9)] + [(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)]
)
_RU = HoursRule(
    f"{_RU_SOURCE} (weekdays 08:00–22:00; weekends and holidays 09:00–20:00)",
    (_hours(8, 22),) * 5 + (_hours(9, 20),) * 2,
    annual_holidays=RU_ANNUAL_HOLIDAYS,
    on_holiday=_hours(9, 20),
)
_RU_CAPS = (
    ContactCap(1, timedelta(hours=24), "conversations", f"{_RU_SOURCE}(3)(a)"),
    ContactCap(2, timedelta(days=7), "conversations", f"{_RU_SOURCE}(3)(b)"),
    ContactCap(8, timedelta(days=31), "conversations", f"{_RU_SOURCE}(3)(c)"),
)

# Who calls, in the message an abandoned call hears (the campaign's seller prompt, then the callback number):
# US: 16 CFR 310.4(b)(4)(iii) and 47 CFR 64.1200(a)(7)(i)(A) — a prerecorded message with the seller's name
#     and a telephone number.
# UK: Ofcom's persistent-misuse policy — an abandoned call gets an information message naming the company on
#     whose behalf it was made and a number to call back.
# RU: 230-FZ art. 7 — telephone conversations and voice messages to a debtor name the creditor (and the agent
#     acting for it) and give a contact number. The message of an abandoned call is such a voice message
#     (art. 4 pt. 1(2)), so the RU preset wants the prompt too.
# No preset ('none'): no jurisdiction's rules are applied, so nothing is required; `dialer campaign start`
# warns that the message would only read the number out.
_PRESETS = {
    "US": Preset("US", _US, states=_US_STATES, seller_named_by="16 CFR 310.4(b)(4)(iii)"),
    "UK": Preset("UK", _UK, seller_named_by="Ofcom persistent-misuse policy"),
    "RU": Preset("RU", _RU, caps=_RU_CAPS, seller_named_by="230-FZ art. 7"),
}


def preset(name: str) -> Preset:
    """The preset named ``name``, in either case; an unknown name raises ``UnknownPresetError`` naming the choices."""
    try:
        return _PRESETS[name.upper()]
    except KeyError:
        raise UnknownPresetError(name) from None


def seller_prompt_law(name: str | None) -> str:
    """The law that wants a campaign under preset ``name`` to have its seller prompt ('' for none)."""
    if name is None or name.lower() == "none":
        return ""
    return preset(name).seller_named_by
