"""The abandonment cap: abandoned calls as a share of live answers over the legal rolling window.

US: FTC Telemarketing Sales Rule safe harbor, 16 CFR 310.4(b)(4)(i), and FCC 47 CFR 64.1200(a)(7): at most
3 % of calls answered by a person, per campaign, over a 30-day period. The rule measures successive 30-day
periods; we use a rolling 30 days, which holds every such period to the cap as well.
UK: Ofcom's revised statement of policy on persistent misuse (2016): at most 3 % of live calls per campaign over
24 hours, with a reasoned estimate of AMD false positives (people the detector took for machines and hung
up on) counted as abandoned live calls; after an abandoned call, no repeat call to that number within
72 hours unless a live operator is guaranteed — this dialer simply does not redial it.
Machine answers are neither live answers nor abandons (except for that UK estimate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from compliance.limits import legal_limits


@dataclass(frozen=True)
class AbandonPolicy:
    cap: float               # the figures come from compliance.limits, per preset
    window: timedelta
    setpoint: float          # what the pacing controller aims for, below the cap
    source: str
    repeat_block: timedelta | None = None  # UK: 72 h without redialing a number after an abandoned call
    amd_false_positive_rate: float = 0.0  # share of machine verdicts that were really people (UK estimate)

    def __post_init__(self) -> None:
        if not 0 < self.cap < 1:
            raise ValueError(f"abandonment cap must be a share between 0 and 1, got {self.cap}")
        if not 0 <= self.setpoint <= self.cap:
            raise ValueError(f"abandonment setpoint {self.setpoint} must lie between 0 and the cap {self.cap}")
        if self.window <= timedelta(0):
            raise ValueError("abandonment window must be positive")
        if not 0 <= self.amd_false_positive_rate < 1:
            raise ValueError("AMD false-positive rate must be a share between 0 and 1")


def abandon_policy_for(preset: str | None, *, amd_false_positive_rate: float | None = None) -> AbandonPolicy:
    """The legal abandonment rule of a preset, from its limits (``compliance.limits``). UK: the 72-hour
    block after an abandoned call, and Ofcom's estimate of AMD false positives (none given: 0, and the
    report says so)."""
    limits = legal_limits(preset)
    uk = limits.jurisdiction == "UK"
    return AbandonPolicy(
        cap=limits.abandon_cap, window=limits.abandon_window, setpoint=limits.abandon_cap * 5 / 6,
        repeat_block=timedelta(hours=72) if uk else None,
        amd_false_positive_rate=amd_false_positive_rate or 0.0,
        source=("" if limits.preset is None else f"{limits.jurisdiction}: ")
               + f"{limits.abandon_source} — {limits.abandon_cap:.0%} per {_describe(limits.abandon_window)}"
               + (", AMD false positives included" if uk else ""))


def estimated_false_positives(machine_answers: int, rate: float) -> int:
    """People the detector hung up on, estimated; rounded up so the estimate never flatters the rate."""
    return math.ceil(machine_answers * rate - 1e-9)


def window_rate(live_answers: int, abandons: int) -> float:
    """Abandons ÷ live answers (abandoned calls are live answers too). 0 when nobody has answered yet."""
    if live_answers < 0 or abandons < 0:
        raise ValueError("live answers and abandons are counts and cannot be negative")
    if abandons > live_answers:
        raise ValueError(
            f"{abandons} abandons but only {live_answers} live answers: an abandoned call is a live answer, "
            "so the ledger is inconsistent"
        )
    return abandons / live_answers if live_answers else 0.0


def _describe(window: timedelta) -> str:
    if window % timedelta(days=1) == timedelta(0) and window > timedelta(days=1):
        return f"{window.days} days"
    return f"{window / timedelta(hours=1):g} h"
