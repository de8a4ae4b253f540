"""Calling windows: local wall-clock intervals per weekday, with holidays, as plain values.

A window is a half-open interval of minutes after local midnight, ``[start, end)``, so 08:00–21:00 lets a
call out at 20:59:59 and not at 21:00:00. An ``HoursRule`` is one source of restriction (a law, a state,
a campaign); a policy intersects several of them, which is how "the most restrictive rule wins".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from compliance.verdict import ComplianceError

MINUTES_PER_DAY = 24 * 60
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


class WindowError(ComplianceError, ValueError):
    """A calling window written wrongly (in a campaign's settings or on the command line)."""


@dataclass(frozen=True, order=True)
class Window:
    start: int  # minutes after local midnight, inclusive
    end: int  # minutes after local midnight, exclusive; 1440 means midnight at the end of the day

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise WindowError(
                f"window {self.start}–{self.end} minutes is empty or outside the day; write e.g. 08:00-21:00"
            )

    def contains(self, seconds_after_midnight: float) -> bool:
        return self.start * 60 <= seconds_after_midnight < self.end * 60

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}–{_hhmm(self.end)}"


Windows = tuple[Window, ...]
ALL_DAY: Windows = (Window(0, MINUTES_PER_DAY),)
CLOSED: Windows = ()


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe(windows: Windows) -> str:
    """Windows as a person reads them in a refusal (``08:00–21:00``), or ``no calls`` for a closed day."""
    return ", ".join(str(w) for w in windows) if windows else "no calls"


def normalize(windows: Iterable[Window]) -> Windows:
    """Sorted, merged, non-overlapping — so intersection and "next opening" can walk them in order."""
    merged: list[Window] = []
    for w in sorted(windows):
        if merged and w.start <= merged[-1].end:
            last = merged.pop()
            merged.append(Window(last.start, max(last.end, w.end)))
        else:
            merged.append(w)
    return tuple(merged)


def intersect(a: Windows, b: Windows) -> Windows:
    """The times both allow: how a stack of rules makes the most restrictive one win."""
    out: list[Window] = []
    for x in a:
        for y in b:
            start, end = max(x.start, y.start), min(x.end, y.end)
            if start < end:
                out.append(Window(start, end))
    return normalize(out)


def parse_time(text: str, *, what: str) -> int:
    """``HH:MM`` as minutes after midnight; ``24:00`` is allowed as the end of the day. Errors name ``what``."""
    match = _TIME.match(text)
    if not match:
        raise WindowError(f"{what}: {text!r} is not a time; write HH:MM, e.g. 08:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise WindowError(f"{what}: {text!r} is not a time of day (00:00–24:00)")
    return hours * 60 + minutes


def parse_window(text: str) -> Window:
    """'08:00-21:00' (also with an en dash)."""
    parts = re.split(r"\s*[-–]\s*", text.strip())
    if len(parts) != 2:
        raise WindowError(f"window {text!r}: write start-end, e.g. 09:00-20:00")
    start = parse_time(parts[0], what=f"window {text!r}")
    end = parse_time(parts[1], what=f"window {text!r}")
    if end <= start:
        raise WindowError(f"window {text!r} ends before it starts; windows that cross midnight are not supported")
    return Window(start, end)


def parse_windows(spec: str | Sequence[str]) -> Windows:
    """'09:00-13:00, 14:00-20:00' or a list of such strings; '' or [] means closed that day."""
    items = [spec] if isinstance(spec, str) else list(spec)
    pieces = [p for item in items for p in item.split(",") if p.strip()]
    return normalize(parse_window(p) for p in pieces)


_DAY_GROUPS = {
    "daily": range(7),
    "weekdays": range(5),
    "weekends": range(5, 7),
}


def _days(key: str) -> list[int]:
    key = key.strip().lower()
    if key in _DAY_GROUPS:
        return list(_DAY_GROUPS[key])
    if "-" in key:
        first, last = key.split("-", 1)
        if first in DAY_NAMES and last in DAY_NAMES:
            a, b = DAY_NAMES.index(first), DAY_NAMES.index(last)
            if a <= b:
                return list(range(a, b + 1))
    if key in DAY_NAMES:
        return [DAY_NAMES.index(key)]
    raise WindowError(
        f"campaign windows: unknown day {key!r}; use mon…sun, a range like mon-fri, weekdays, weekends, daily "
        "or holiday"
    )


@dataclass(frozen=True)
class HoursRule:
    """One source of calling-hour restriction. On a holiday, ``on_holiday`` replaces the weekday's
    windows (``None`` = holidays are ordinary days for this rule)."""

    source: str
    by_weekday: tuple[Windows, ...]
    holidays: frozenset[date] = field(default_factory=frozenset)
    annual_holidays: frozenset[tuple[int, int]] = field(default_factory=frozenset)  # (month, day)
    on_holiday: Windows | None = None

    def __post_init__(self) -> None:
        if len(self.by_weekday) != 7:
            raise WindowError(f"{self.source}: calling windows need 7 weekdays, got {len(self.by_weekday)}")

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.annual_holidays

    def windows_on(self, day: date) -> Windows:
        if self.on_holiday is not None and self.is_holiday(day):
            return self.on_holiday
        return self.by_weekday[day.weekday()]

    def with_holidays(self, extra: Iterable[date]) -> HoursRule:
        extra = frozenset(extra)
        if not extra:
            return self
        return HoursRule(
            self.source,
            self.by_weekday,
            self.holidays | extra,
            self.annual_holidays,
            self.on_holiday if self.on_holiday is not None else CLOSED,
        )


def every_day(source: str, windows: Windows) -> HoursRule:
    """A rule with the same windows on all seven days, as most laws write their calling hours."""
    return HoursRule(source, (windows,) * 7)


def campaign_rule(
    spec: str | Sequence[str] | Mapping[str, str | Sequence[str]], *, source: str = "campaign windows"
) -> HoursRule:
    """Campaign windows in the callee's local time.

    A string or list applies to every day. A mapping names days (``mon``, ``mon-fri``, ``weekdays``,
    ``weekends``, ``daily``) and optionally ``holiday``; a day the mapping does not name is closed, because
    a campaign window can only narrow.
    """
    if isinstance(spec, str) or not isinstance(spec, Mapping):
        return every_day(source, parse_windows(spec))
    by_day: list[Windows] = [CLOSED] * 7
    on_holiday: Windows | None = None
    for key, value in spec.items():
        windows = parse_windows(value)
        if key.strip().lower() == "holiday":
            on_holiday = windows
            continue
        for d in _days(key):
            by_day[d] = windows
    return HoursRule(source, tuple(by_day), on_holiday=on_holiday)
