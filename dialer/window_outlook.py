"""What the legal window still holds ahead: the live answers a campaign will add to it before it stops
dialing today, for the confidence bound that sets pacing's setpoint (pacing.window_bound).

The pace is the campaign's answers over the last 15 minutes; the time left is until its calling hours close
today in the campaign's zone (its compliance preset's hours; none: no outlook, and the controller keeps
its fixed setpoint). Answers of later days are not counted: the bound is then cautious, never bold.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compliance.windows import HoursRule
from dialer.ledger import AbandonLedger

PACE_S = 900.0


def seconds_left_today(wall_now: datetime, zone: str, rule: HoursRule) -> float:
    """Seconds until the last calling window of today closes in ``zone`` (0 when none is left)."""
    try:
        local = wall_now.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return 0.0
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    ends = [w.end * 60 for w in rule.windows_on(local.date()) if w.end * 60 > seconds]
    return float(max(ends) - seconds) if ends else 0.0


def pace(ledger: AbandonLedger, loop_now: float) -> float:
    """The campaign's live answers per second over the last 15 minutes."""
    recent, _ = ledger.counts_since(loop_now - PACE_S)
    return recent / PACE_S


def answers_to_come(ledger: AbandonLedger, loop_now: float, seconds_left: float) -> float:
    """Live answers expected in the window before the campaign stops today, at its recent pace."""
    return pace(ledger, loop_now) * min(seconds_left, ledger.window_s)
