"""Contact caps: how often one number (or one debtor) may be called or spoken to in a rolling period.

Windows are rolling (the last 24 h, 7 days, 31 days before the moment), never calendar periods: at most
N in every rolling period implies at most N in every calendar day/week/month it covers, so one check
satisfies both readings of the law. A month is taken as 31 days for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from compliance.verdict import Verdict, allow, deny, require_aware

Counted = Literal["attempts", "conversations"]


@dataclass(frozen=True)
class ContactCap:
    limit: int
    per: timedelta
    counts: Counted
    source: str

    def __post_init__(self) -> None:
        if self.limit < 1 or self.per <= timedelta(0):
            raise ValueError(f"{self.source}: a contact cap needs limit ≥ 1 and a positive period")

    def describe(self) -> str:
        return f"at most {self.limit} {self.counts} per {_period(self.per)} ({self.source})"


def _period(per: timedelta) -> str:
    if per % timedelta(days=1) == timedelta(0) and per >= timedelta(days=2):
        return f"{per.days} days"
    hours = per / timedelta(hours=1)
    return f"{hours:g} h"


@dataclass(frozen=True)
class ContactHistory:
    """Past dials to a number (``attempts``), conversations with the person (``conversations``), and
    answers the dialer abandoned (``abandons``, for the UK 72-hour repeat block)."""

    attempts: tuple[datetime, ...] = ()
    conversations: tuple[datetime, ...] = ()
    abandons: tuple[datetime, ...] = ()

    def events(self, counts: Counted) -> tuple[datetime, ...]:
        return self.attempts if counts == "attempts" else self.conversations


def in_period(events: Sequence[datetime], moment: datetime, per: timedelta) -> list[datetime]:
    """Events in the rolling period ending at ``moment``: ``(moment - per, moment]``."""
    return sorted(e for e in events if moment - per < e <= moment)


def caps_verdict(history: ContactHistory, moment: datetime, caps: Sequence[ContactCap]) -> Verdict:
    """May one more attempt start at ``moment``? Denied when any cap is already reached."""
    require_aware(moment)
    for cap in caps:
        recent = in_period(history.events(cap.counts), moment, cap.per)
        if len(recent) >= cap.limit:
            free_at = recent[-cap.limit] + cap.per
            return deny(
                f"{len(recent)} {cap.counts} in the last {_period(cap.per)} reach {cap.describe()}; "
                f"next possible after {free_at.isoformat(timespec='minutes')}"
            )
    return allow("within contact caps" if caps else "no contact caps")


def next_free(history: ContactHistory, moment: datetime, caps: Sequence[ContactCap]) -> datetime:
    """The earliest moment ≥ ``moment`` at which every cap has room again (assuming no new events)."""
    require_aware(moment)
    result = moment
    for cap in caps:
        recent = in_period(history.events(cap.counts), moment, cap.per)
        if len(recent) >= cap.limit:
            # The period must slide past the oldest event that keeps the count at the limit.
            result = max(result, recent[-cap.limit] + cap.per)
    return result


def repeat_block_verdict(history: ContactHistory, moment: datetime, block: timedelta | None) -> Verdict:
    """UK (Ofcom): after an abandoned call, no repeat call to the number within ``block`` (72 h)."""
    require_aware(moment)
    if block is None:
        return allow("no repeat block after abandoned calls")
    recent = in_period(history.abandons, moment, block)
    if recent:
        free_at = recent[-1] + block
        return deny(
            f"an abandoned call to this number at {recent[-1].isoformat(timespec='minutes')}: no repeat call within "
            f"{_period(block)} (Ofcom persistent-misuse policy); next possible after "
            f"{free_at.isoformat(timespec='minutes')}"
        )
    return allow("no abandoned call within the repeat block")
