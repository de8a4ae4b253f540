"""Hypothesis strategies shared by the compliance tests: zones chosen to be awkward, moments crowded
around DST transitions, and random rule sets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import strategies as st

from compliance.hours import CallingPolicy, policy_for

AWKWARD_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/St_Johns",  # −3:30 with DST
    "Asia/Kolkata", "Asia/Calcutta",  # +5:30, and the old name phonenumbers returns
    "Asia/Kathmandu",  # +5:45
    "Australia/Adelaide",  # +9:30 / +10:30
    "Australia/Lord_Howe",  # DST shift of only 30 minutes
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/London", "Europe/Moscow", "Asia/Kamchatka", "America/Santiago", "Asia/Tehran", "Pacific/Apia",
    "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC",
)
ALL_ZONES = tuple(sorted(available_timezones()))

zones = st.one_of(st.sampled_from(AWKWARD_ZONES), st.sampled_from(ALL_ZONES))


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """UTC instants at which the zone's offset changes, 2024–2027 (daily scan, then bisection)."""
    tz = ZoneInfo(zone)

    def offset(t: datetime) -> timedelta | None:
        return t.astimezone(tz).utcoffset()

    found = []
    t = datetime(2024, 1, 1, tzinfo=UTC)
    while t < datetime(2028, 1, 1, tzinfo=UTC):
        nxt = t + timedelta(days=1)
        if offset(nxt) != offset(t):
            lo, hi = t, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid) == offset(t) else (lo, mid)
            found.append(hi.replace(microsecond=0))
        t = nxt
    return tuple(found)


plain_moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@st.composite
def moments_near_transitions(draw: st.DrawFn, zone: str) -> datetime:
    found = transitions(zone)
    if not found:
        return draw(plain_moments)
    base = draw(st.sampled_from(found))
    return base + timedelta(seconds=draw(st.integers(-36 * 3600, 36 * 3600)))


def moments_for(zone: str) -> st.SearchStrategy[datetime]:
    return st.one_of(plain_moments, moments_near_transitions(zone))


@st.composite
def window_text(draw: st.DrawFn) -> str:
    start = draw(st.integers(0, 24 * 60 - 1))
    end = draw(st.integers(start + 1, 24 * 60))
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


campaign_windows = st.one_of(
    st.none(),
    st.lists(window_text(), min_size=0, max_size=3),
    st.dictionaries(
        st.sampled_from(["mon-fri", "weekdays", "weekends", "sat", "sun", "daily", "holiday", "tue-thu"]),
        st.lists(window_text(), min_size=0, max_size=2),
        max_size=3,
    ),
)

holidays = st.frozensets(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)), max_size=20)


@st.composite
def policies(draw: st.DrawFn) -> CallingPolicy:
    preset = draw(st.sampled_from([None, "US", "UK", "RU"]))
    state = draw(st.sampled_from([None, "FL", "TX", "OK"])) if preset == "US" else None
    return policy_for(
        preset, campaign_windows=draw(campaign_windows), holidays=draw(holidays), state=state
    )
