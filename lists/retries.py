"""What happens to a lead after an attempt that did not reach an operator.

Per outcome a delay before the next try; per lead a cap on attempts overall and per (campaign-local) day.
Defaults keep a demo sensible; the UK preset follows Ofcom's rule that a call abandoned with the
information message may not be repeated within 72 hours unless a live operator makes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from lists.errors import RetryRulesError

OUTCOMES = ("connected", "busy", "no_answer", "congestion", "failed", "abandoned", "dropped", "machine")
RETRIED = tuple(o for o in OUTCOMES if o != "connected")

DEFAULT_DELAYS_S: dict[str, float] = {
    "busy": 10 * 60,
    "no_answer": 30 * 60,
    "congestion": 5 * 60,
    "failed": 15 * 60,
    "abandoned": 60 * 60,
    "dropped": 60 * 60,
    "machine": 2 * 60 * 60,
}


@dataclass(frozen=True)
class Next:
    """The decision: ``done`` or back to ready at ``due``."""

    done: bool
    due: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class RetryRules:
    delays_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DELAYS_S))
    max_attempts: int = 3
    max_per_day: int = 2
    # The next attempt dials another of the lead's numbers: no reason to wait as long as for the same one.
    alternate_delay_s: float = 60.0

    def decide(self, outcome: str, *, attempts: int, attempts_today: int, now: datetime, timezone: str,
               other_number: bool = False) -> Next:
        """After the ``attempts``-th attempt (``attempts_today`` of them today) ended with ``outcome``;
        ``other_number``: the next attempt dials another of the lead's numbers."""
        if outcome not in self.delays_s:
            raise RetryRulesError(f"no retry rule for outcome {outcome!r} (known: {', '.join(self.delays_s)})")
        if attempts >= self.max_attempts:
            return Next(True, reason=f"{attempts} attempts, the most allowed per lead")
        delay = self.alternate_delay_s if other_number else self.delays_s[outcome]
        due = now + timedelta(seconds=delay)
        if attempts_today >= self.max_per_day:
            zone = ZoneInfo(timezone)
            tomorrow = now.astimezone(zone).date() + timedelta(days=1)
            due = max(due, datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone))
            return Next(False, due, f"{attempts_today} attempts today, the most allowed per day")
        return Next(False, due, f"{outcome}: retry after {delay:.0f} s")

    def to_json(self) -> dict[str, Any]:
        return {"delays_s": self.delays_s, "max_attempts": self.max_attempts, "max_per_day": self.max_per_day,
                "alternate_delay_s": self.alternate_delay_s}


DEFAULT = RetryRules()
UK = replace(DEFAULT, delays_s={**DEFAULT_DELAYS_S, "abandoned": 72 * 3600})


def from_json(document: dict[str, Any] | None) -> RetryRules:
    """campaign.retry_rules merged over the defaults: ``{"delays_s": {"busy": 300}, "max_attempts": 5}``."""
    if not document:
        return DEFAULT
    delays = dict(DEFAULT_DELAYS_S)
    for outcome, seconds in (document.get("delays_s") or {}).items():
        if outcome not in RETRIED:
            raise RetryRulesError(f"retry rule for unknown outcome {outcome!r} (known: {', '.join(RETRIED)})")
        if not isinstance(seconds, int | float) or seconds < 0:
            raise RetryRulesError(f"retry delay for {outcome} must be seconds ≥ 0, not {seconds!r}")
        delays[outcome] = float(seconds)
    alternate = document.get("alternate_delay_s", DEFAULT.alternate_delay_s)
    if not isinstance(alternate, int | float) or alternate < 0:
        raise RetryRulesError(f"alternate_delay_s must be seconds ≥ 0, not {alternate!r}")
    rules = RetryRules(delays, int(document.get("max_attempts", DEFAULT.max_attempts)),
                       int(document.get("max_per_day", DEFAULT.max_per_day)), float(alternate))
    if rules.max_attempts < 1 or rules.max_per_day < 1:
        raise RetryRulesError("max_attempts and max_per_day must be at least 1")
    return rules


async def load(conn: asyncpg.Connection, campaign_id: int) -> RetryRules:
    value = await conn.fetchval("SELECT retry_rules FROM campaign WHERE id = $1", campaign_id)
    return from_json(json.loads(value) if isinstance(value, str) else value)


async def save(conn: asyncpg.Connection, campaign_id: int, rules: RetryRules, *, actor: str, now: datetime) -> None:
    """Store the rules (the next settle uses them) and write who changed them to the audit trail."""
    old = await conn.fetchval("SELECT retry_rules FROM campaign WHERE id = $1", campaign_id)
    new = json.dumps(rules.to_json())
    async with conn.transaction():
        await conn.execute("UPDATE campaign SET retry_rules = $2::jsonb WHERE id = $1", campaign_id, new)
        await conn.execute(
            """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
               VALUES ($1, $2, $3, 'retry_rules', $4::jsonb, $5::jsonb)""",
            now, actor, campaign_id, old if isinstance(old, str) else json.dumps(old), new,
        )
