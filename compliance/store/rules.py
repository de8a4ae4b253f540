"""A campaign's compliance rules in the store (``campaign_compliance``), and their changes in the audit trail."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from compliance.rules import CampaignRules
from compliance.verdict import require_aware


async def campaign_rules(conn: asyncpg.Connection, campaign_id: int) -> CampaignRules:
    row = await conn.fetchrow("SELECT * FROM campaign_compliance WHERE campaign_id = $1", campaign_id)
    if row is None:
        return CampaignRules()
    windows = row["windows"]
    if isinstance(windows, str):
        windows = json.loads(windows)
    if isinstance(windows, list):
        windows = tuple(windows)
    return CampaignRules(
        preset=row["preset"],
        windows=windows,
        holidays=frozenset(row["holidays"]),
        registries=tuple(row["registries"]),
        registry_max_age_days=row["registry_max_age_days"],
        amd_false_positive_rate=row["amd_false_positive_rate"],
    )


def rules_document(rules: CampaignRules) -> dict:
    """The rules as JSON-able values (for the audit trail and `dialer compliance show`)."""
    windows = rules.windows
    return {
        "preset": rules.preset,
        "windows": list(windows) if isinstance(windows, tuple) else windows,
        "holidays": [d.isoformat() for d in sorted(rules.holidays)],
        "registries": list(rules.registries),
        "registry_max_age_days": rules.registry_max_age_days,
        "amd_false_positive_rate": rules.amd_false_positive_rate,
    }


async def set_campaign_rules(
    conn: asyncpg.Connection, campaign_id: int, rules: CampaignRules, *, actor: str = "system",
    now: datetime | None = None,
) -> None:
    """Store the campaign's rules; with ``now``, the change goes to the audit trail (who, when, old, new)."""
    doc = rules_document(rules)
    async with conn.transaction():
        old = await campaign_rules(conn, campaign_id)
        await conn.execute(
            """INSERT INTO campaign_compliance (campaign_id, preset, windows, holidays, registries,
                                                registry_max_age_days, amd_false_positive_rate)
               VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7)
               ON CONFLICT (campaign_id) DO UPDATE SET preset = $2, windows = $3::jsonb, holidays = $4,
                   registries = $5, registry_max_age_days = $6, amd_false_positive_rate = $7""",
            campaign_id, rules.preset, None if doc["windows"] is None else json.dumps(doc["windows"]),
            sorted(rules.holidays), list(rules.registries), rules.registry_max_age_days,
            rules.amd_false_positive_rate,
        )
        if now is not None:
            require_aware(now)
            await conn.execute(
                """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
                   VALUES ($1, $2, $3, 'compliance', $4::jsonb, $5::jsonb)""",
                now, actor, campaign_id, json.dumps(rules_document(old)), json.dumps(doc),
            )
