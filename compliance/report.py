"""The compliance report of a campaign: what a regulator or a client asks to see, per window.

Rows are plain values built by ``compliance.store.compliance_report``; the CLI renders them.
"Calls outside hours" re-checks every call that went out against the legal hours (preset, the callee's
state law, the holiday calendar — not the campaign's own windows, which may have changed since), and
"calls to DNC numbers" against the lists as they stood when it was dialed; both must read 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class WindowRow:
    label: str
    start: datetime | None  # None: since the campaign's first attempt
    end: datetime
    attempts: int  # calls that went out (originated)
    live_answers: int  # including the AMD false-positive estimate, if any
    abandons: int
    machine_answers: int
    false_positive_estimate: int
    rate: float
    cap: float
    calls_outside_hours: int
    calls_to_dnc: int
    legal: bool  # the window the law measures the cap over (the others are for information)

    @property
    def over_cap(self) -> bool:
        return self.legal and self.rate > self.cap


@dataclass(frozen=True)
class ComplianceReport:
    campaign_id: int
    campaign_name: str
    policy: str
    abandon_rule: str
    now: datetime
    rows: tuple[WindowRow, ...]
    leads_held_by_dnc: int  # leads of the campaign the claim skips because their number is on a DNC list
    registry: str  # freshness verdict of the do-not-call registries
    registry_ok: bool
    outside_hours_examples: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return self.registry_ok and all(
            not r.over_cap and r.calls_outside_hours == 0 and r.calls_to_dnc == 0 for r in self.rows
        )
