"""Where a campaign's call script is kept: ``campaign.script`` (jsonb).

The document is validated by ``dialer.script`` before it is stored; this module only moves it, so the
store never learns the script's shape.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from lists.campaigns import CampaignNotFound


async def store_script(conn: asyncpg.Connection | asyncpg.Pool, campaign_name: str, document: dict[str, Any]) -> int:
    """Replace the campaign's script; returns the campaign id."""
    campaign_id = await conn.fetchval(
        "UPDATE campaign SET script = $2::jsonb WHERE name = $1 RETURNING id", campaign_name, json.dumps(document)
    )
    if campaign_id is None:
        raise CampaignNotFound(campaign_name)
    return int(campaign_id)


async def script_document(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> dict[str, Any]:
    """The stored document ({} when the campaign has no script)."""
    raw = await conn.fetchval("SELECT script FROM campaign WHERE id = $1", campaign_id)
    if raw is None:
        raise CampaignNotFound(f"#{campaign_id}")
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
