"""Calling hours in the callee's local time.

A policy is a stack of ``HoursRule``s (preset, state override, holiday calendar, campaign windows); a
moment is allowed only when every rule allows it in the callee's zone, so the most restrictive wins.
Local time comes from zoneinfo, so DST and half-hour zones are whatever the tz database says.

Zone keys: a lead's zone is one IANA name, or several joined by ``|`` when the number's region spans
several zones and nobody told us which; such a key is allowed only when all of its zones are (the
intersection of their windows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compliance.caps import ContactCap
from compliance.presets import preset as find_preset
from compliance.verdict import ComplianceError, Verdict, allow, deny, require_aware
from compliance.windows import (
    ALL_DAY,
    MINUTES_PER_DAY,
    HoursRule,
    Window,
    Windows,
    campaign_rule,
    describe,
    every_day,
    intersect,
)

ZONE_SEPARATOR = "|"
HORIZON_DAYS = 400  # a policy that stays closed longer than this is a configuration mistake


class NeverOpensError(ComplianceError):
    def __init__(self, zone: str, moment: datetime, policy: CallingPolicy) -> None:
        super().__init__(
            f"{policy.name}: no calling window in {zone} within {HORIZON_DAYS} days after "
            f"{moment.isoformat()}; the campaign windows and holidays leave no time to call"
        )


@dataclass(frozen=True)
class CallingPolicy:
    name: str
    rules: tuple[HoursRule, ...] = ()
    caps: tuple[ContactCap, ...] = ()

    def windows_on(self, day: date) -> Windows:
        windows: Windows = ALL_DAY
        for rule in self.rules:
            windows = intersect(windows, rule.windows_on(day))
        return windows

    def narrowed(self, *rules: HoursRule, caps: Sequence[ContactCap] = ()) -> CallingPolicy:
        return CallingPolicy(self.name, self.rules + tuple(rules), self.caps + tuple(caps))


def policy_for(
    preset: str | None,
    *,
    campaign_windows: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None = None,
    holidays: Iterable[date] = (),
    state: str | None = None,
) -> CallingPolicy:
    """The policy for one campaign (and one US state, when the callee's state has its own law).

    ``holidays`` extends the preset's calendar (on those dates the preset's holiday hours apply: RU weekend
    hours, US/UK and no preset: no calls). Campaign windows can only narrow; see ``windows.campaign_rule``.
    """
    holidays = frozenset(holidays)
    rules: list[HoursRule] = []
    caps: list[ContactCap] = []
    name = "no preset"
    if preset:
        p = find_preset(preset)
        name = p.name
        rules.append(p.rule.with_holidays(holidays))
        caps.extend(p.caps)
        if state and state.upper() in p.states:
            override = p.states[state.upper()]
            rules.append(override.rule)
            caps.extend(override.caps)
            name = f"{p.name}-{state.upper()}"
    elif holidays:
        rules.append(every_day("holiday calendar", ALL_DAY).with_holidays(holidays))
    if campaign_windows is not None:
        rule = campaign_rule(campaign_windows)
        if rule.on_holiday is not None:
            rule = rule.with_holidays(holidays)
        rules.append(rule)
        name += " + campaign windows"
    return CallingPolicy(name, tuple(rules), tuple(caps))


def zones_of(key: str) -> list[str]:
    """The zones of a zone key (see ``zone_key``); a blank key has none."""
    return [z.strip() for z in key.split(ZONE_SEPARATOR) if z.strip()]


def zone_key(zones: Iterable[str]) -> str:
    """The key to store for a lead whose number may be in any of ``zones`` (sorted, so equal sets match)."""
    return ZONE_SEPARATOR.join(sorted(set(zones)))


@lru_cache(maxsize=2048)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _seconds_after_midnight(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _blocking_rule(tz: ZoneInfo, moment: datetime, policy: CallingPolicy) -> tuple[datetime, HoursRule] | None:
    """The first rule that forbids ``moment`` in ``tz`` (with the local time), or None when all allow it.
    Kept free of string formatting: open_zones and next_opening call it many times per claim."""
    local = moment.astimezone(tz)
    seconds = _seconds_after_midnight(local)
    day = local.date()
    for rule in policy.rules:
        if not any(w.contains(seconds) for w in rule.windows_on(day)):
            return local, rule
    return None


def _allowed(zone: str, moment: datetime, policy: CallingPolicy) -> bool:
    tz = _zone(zone)
    return tz is not None and _blocking_rule(tz, moment, policy) is None


def _single_zone_verdict(zone: str, moment: datetime, policy: CallingPolicy) -> Verdict:
    tz = _zone(zone)
    if tz is None:
        return deny(f"unknown time zone {zone!r}: cannot tell the callee's local time, so no call")
    blocked = _blocking_rule(tz, moment, policy)
    if blocked is None:
        return allow(f"inside calling hours in {zone} ({policy.name})")
    local, rule = blocked
    windows = rule.windows_on(local.date())
    day = "holiday" if rule.on_holiday is not None and rule.is_holiday(local.date()) else local.strftime("%a")
    return deny(f"{local:%Y-%m-%d %H:%M} ({day}) in {zone} is outside {rule.source}: {describe(windows)}")


def most_restrictive_zone_verdict(zones: Sequence[str], moment: datetime, policy: CallingPolicy) -> Verdict:
    """A number that may be in any of ``zones`` is callable only when it is callable in all of them."""
    require_aware(moment)
    if not zones:
        return deny("no time zone known for this number, so no call")
    verdicts = [_single_zone_verdict(z, moment, policy) for z in zones]
    for v in verdicts:
        if not v.allowed:
            return v if len(zones) == 1 else deny(f"{v.reason} (one of {len(zones)} possible zones)")
    return verdicts[0] if len(zones) == 1 else allow(
        f"inside calling hours in all {len(zones)} possible zones ({policy.name})"
    )


def may_call(zone: str, moment: datetime, policy: CallingPolicy) -> Verdict:
    """Whether a call to a callee in ``zone`` (an IANA name or a ``|``-joined zone key) may start at ``moment``."""
    return most_restrictive_zone_verdict(zones_of(zone), moment, policy)


def open_zones(zones: Iterable[str], moment: datetime, policy: CallingPolicy) -> set[str]:
    """The zone keys inside their window at ``moment`` — what the claim may dial right now."""
    require_aware(moment)
    return {key for key in set(zones) if all(_allowed(z, moment, policy) for z in zones_of(key) or [""])}


def _first_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the local wall clock in ``tz`` reads ``day`` + ``minute`` or later.

    A wall time inside a DST gap does not exist; then the answer is the transition itself, found by
    bisection between the two readings of the wall time (fold=1 lands before the gap, fold=0 after it).
    """
    if minute >= MINUTES_PER_DAY:
        return _first_instant(day + timedelta(days=1), 0, tz)
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    early = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    lo, hi = min(early, late), max(early, late)

    def reached(instant: datetime) -> bool:
        return instant.astimezone(tz).replace(tzinfo=None) >= wall

    if reached(lo):  # an ordinary wall time, or the first of a repeated (fall-back) hour
        return lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if reached(mid):
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if reached(hi.replace(microsecond=0)) else hi


def _next_opening_single(zone: str, moment: datetime, policy: CallingPolicy) -> datetime:
    tz = _zone(zone)
    if tz is None:
        raise ComplianceError(f"unknown time zone {zone!r}; fix the lead's time zone")
    if _allowed(zone, moment, policy):
        return moment
    today = moment.astimezone(tz).date()
    for offset in range(-1, HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        starts = {s for window in policy.windows_on(day) for s in _window_starts(day, window, tz)}
        for candidate in sorted(starts | _fall_backs(day, tz)):
            candidate = max(candidate, moment)
            if _allowed(zone, candidate, policy):
                return candidate
    raise NeverOpensError(zone, moment, policy)


def _fall_backs(day: date, tz: ZoneInfo) -> set[datetime]:
    """The instant on ``day`` at which the wall clock falls back, if it does: a window holding the repeated
    wall time opens again there although none of its starts repeats."""
    first = _first_instant(day, 0, tz)
    last = _first_instant(day + timedelta(days=1), 0, tz)
    if first.astimezone(tz).utcoffset() <= last.astimezone(tz).utcoffset():
        return set()
    lo, hi = first, last   # the offset drops once between them: find the first instant of the later offset
    later = last.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == later:
            hi = mid
        else:
            lo = mid
    return {hi.replace(microsecond=0) if hi.replace(microsecond=0).astimezone(tz).utcoffset() == later else hi}


def _window_starts(day: date, window: Window, tz: ZoneInfo) -> list[datetime]:
    """Instants at which ``window`` may begin to hold on ``day`` — twice when the wall time repeats (DST
    fall-back), so a moment inside the repeated hour still finds the second start."""
    first = _first_instant(day, window.start, tz)
    wall = datetime(day.year, day.month, day.day, window.start // 60, window.start % 60)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return sorted({first, second} if second > first else {first})


def next_opening(zone: str, moment: datetime, policy: CallingPolicy) -> datetime:
    """The earliest moment ≥ ``moment`` at which ``zone`` (a zone key) is inside its window; ``moment``
    itself when it already is. Raises ``NeverOpensError`` when nothing opens within ``HORIZON_DAYS``."""
    require_aware(moment)
    zones = zones_of(zone)
    if not zones:
        raise ComplianceError("no time zone known for this number; cannot schedule it")
    candidate = moment
    limit = moment + timedelta(days=HORIZON_DAYS)
    while candidate <= limit:
        moved = max(_next_opening_single(z, candidate, policy) for z in zones)
        if moved == candidate:
            return candidate.astimezone(moment.tzinfo)
        candidate = moved
    raise NeverOpensError(zone, moment, policy)
