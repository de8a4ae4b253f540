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

from compliance.presets import preset as find_preset
from compliance.verdict import Verdict, allow, deny

DEFAULT_MARGIN = 0.005


@dataclass(frozen=True)
class AbandonPolicy:
    cap: float = 0.03
    window: timedelta = timedelta(days=30)
    setpoint: float = 0.025  # what the pacing controller aims for, below the cap
    repeat_block: timedelta | None = None  # UK: 72 h without redialing a number after an abandoned call
    amd_false_positive_rate: float = 0.0  # share of machine verdicts that were really people (UK estimate)
    source: str = "default (3 % over 30 days)"

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
    """The legal abandonment rule of a preset. Russia has no statutory cap: the default (3 % / 30 days)
    keeps the same discipline."""
    name = find_preset(preset).name if preset else None
    if name == "US":
        return AbandonPolicy(source="US: 16 CFR 310.4(b)(4)(i); 47 CFR 64.1200(a)(7) — 3 % per 30 days")
    if name == "UK":
        # Ofcom asks for a reasoned estimate; without one we assume 0 and the report says so.
        return AbandonPolicy(
            window=timedelta(hours=24),
            repeat_block=timedelta(hours=72),
            amd_false_positive_rate=amd_false_positive_rate or 0.0,
            source="UK: Ofcom persistent-misuse policy — 3 % per 24 h, AMD false positives included",
        )
    return AbandonPolicy(amd_false_positive_rate=amd_false_positive_rate or 0.0)


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


def abandonment_verdict(
    live_answers: int, abandons: int, policy: AbandonPolicy, margin: float = DEFAULT_MARGIN
) -> Verdict:
    """May the campaign keep dialing predictively (more calls than free operators)?

    Asks the worst case of the very next call: if it were abandoned too, would the window's rate reach
    ``cap − margin``? So a new campaign stays progressive until enough live answers exist to absorb an
    abandon, and a running one drops to progressive before, not after, the cap.
    """
    worst = window_rate(live_answers + 1, abandons + 1)
    threshold = policy.cap - margin
    now = window_rate(live_answers, abandons)
    if worst >= threshold:
        return deny(
            f"abandonment {now:.2%} over the last {_describe(policy.window)} ({abandons}/{live_answers}); one more "
            f"abandon would make it {worst:.2%} ≥ {threshold:.2%} (cap {policy.cap:.0%} − margin): progressive only"
        )
    return allow(
        f"abandonment {now:.2%} over the last {_describe(policy.window)} ({abandons}/{live_answers}), "
        f"cap {policy.cap:.0%}"
    )


def must_fall_back(live_answers: int, abandons: int, policy: AbandonPolicy, margin: float = DEFAULT_MARGIN) -> bool:
    """True when the campaign must dial progressively (one call per free operator) right now."""
    return not abandonment_verdict(live_answers, abandons, policy, margin).allowed


def _describe(window: timedelta) -> str:
    if window % timedelta(days=1) == timedelta(0) and window > timedelta(days=1):
        return f"{window.days} days"
    return f"{window / timedelta(hours=1):g} h"
