"""A campaign's compliance rules as one value, and the final check of one lead before it is dialed.

The claim filters in SQL by open zones and DNC (coarse and fast); ``CampaignRules.check`` is the last word
per lead, right before originate: calling hours with the callee's state law, and the contact caps. A lead
it refuses goes back to the list, due at ``retry_at``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from compliance.abandonment import AbandonPolicy, abandon_policy_for
from compliance.caps import ContactHistory, caps_verdict, next_free, repeat_block_verdict
from compliance.dnc import DEFAULT_REGISTRY_MAX_AGE_DAYS
from compliance.hours import CallingPolicy, may_call, next_opening, policy_for, zone_key
from compliance.verdict import ComplianceError, Verdict
from compliance.zones import us_state_for_number, zones_for_number

WindowsSpec = str | Sequence[str] | Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class LeadVerdict:
    allowed: bool
    reason: str
    retry_at: datetime | None = None  # when refused: the earliest moment worth trying again

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class CampaignRules:
    preset: str | None = None
    windows: WindowsSpec | None = None
    holidays: frozenset[date] = frozenset()
    registries: tuple[str, ...] = ()
    registry_max_age_days: int = DEFAULT_REGISTRY_MAX_AGE_DAYS
    amd_false_positive_rate: float = 0.0
    _policies: dict[str | None, CallingPolicy] = field(default_factory=dict, init=False, compare=False, repr=False)
    # calling-hours verdicts of the current minute by (zone, state): windows are whole minutes, so a
    # verdict holds for the minute, and a batch of claimed leads shares a handful of zones
    _hours: dict[tuple[str, str | None], Verdict] = field(default_factory=dict, init=False, compare=False,
                                                          repr=False)
    _hours_minute: list[int] = field(default_factory=lambda: [0], init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.policy()  # fail at load time, naming the bad window or preset, not at the first call

    def policy(self, state: str | None = None) -> CallingPolicy:
        """Calling policy for callees in ``state`` (US states with their own law), built once per state."""
        key = state.upper() if state else None
        if key not in self._policies:
            self._policies[key] = policy_for(
                self.preset, campaign_windows=self.windows, holidays=self.holidays, state=key
            )
        return self._policies[key]

    def _may_call(self, zone: str, moment: datetime, state: str | None, policy: CallingPolicy) -> Verdict:
        minute = int(moment.timestamp() // 60)
        if self._hours_minute[0] != minute:
            self._hours.clear()
            self._hours_minute[0] = minute
        key = (zone, state)
        verdict = self._hours.get(key)
        if verdict is None:
            verdict = self._hours[key] = may_call(zone, moment, policy)
        return verdict

    @cached_property
    def abandon(self) -> AbandonPolicy:
        return abandon_policy_for(self.preset, amd_false_positive_rate=self.amd_false_positive_rate)

    def state_of(self, phone: str, fields: Mapping[str, Any] | None = None) -> str | None:
        """A lead field ``state`` wins; otherwise the area code (US preset only)."""
        if (self.preset or "").upper() != "US":
            return None
        given = (fields or {}).get("state")
        if isinstance(given, str) and given.strip():
            return given.strip().upper()
        try:
            return us_state_for_number(phone)
        except ComplianceError:
            return None

    def zone_of(self, phone: str, timezones: Sequence[str] = (), timezone: str | None = None) -> str:
        """The zone key of a lead: its candidate zones, its zone, or those of its number."""
        if timezones:
            return zone_key(timezones)
        if timezone:
            return timezone
        return zone_key(zones_for_number(phone))

    def check(
        self,
        phone: str,
        moment: datetime,
        *,
        zone: str,
        history: ContactHistory | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> LeadVerdict:
        state = self.state_of(phone, fields)
        policy = self.policy(state)
        hours = self._may_call(zone, moment, state, policy)
        if not hours:
            try:
                retry = next_opening(zone, moment, policy)
            except ComplianceError:
                retry = None
            return LeadVerdict(False, hours.reason, retry)
        history = history or ContactHistory()
        caps = caps_verdict(history, moment, policy.caps)
        if not caps:
            return LeadVerdict(False, caps.reason, next_free(history, moment, policy.caps))
        block = self.abandon.repeat_block
        repeat = repeat_block_verdict(history, moment, block)
        if not repeat and block is not None:
            return LeadVerdict(False, repeat.reason, max(history.abandons) + block)
        return LeadVerdict(True, hours.reason)
