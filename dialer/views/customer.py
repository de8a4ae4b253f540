"""What the operator console reads from the store when a call connects: the customer card, the
campaign's disposition catalogue and its call script. Read-only: the console changes the store only
through operator commands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dialer import script as call_script
from lists.dispositions import DEFAULT_CATALOGUE, Disposition

Store = asyncpg.Pool | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy   # one read, or several on one connection


@dataclass(frozen=True)
class EarlierAttempt:
    id: int
    at: datetime
    outcome: str | None
    disposition: str | None
    notes: str | None
    operator: str | None


@dataclass(frozen=True)
class CustomerCard:
    lead_id: int
    campaign_id: int
    phone: str
    fields: dict[str, Any]
    category: str
    attempts: tuple[EarlierAttempt, ...]   # newest first, the current one excluded

    def values(self) -> dict[str, Any]:
        """What script placeholders can name: the lead's fields, plus its phone."""
        return {"phone": self.phone, **self.fields}


async def customer_card(pool: Store, lead_id: int, current_attempt: int | None) -> CustomerCard | None:
    lead = await pool.fetchrow("SELECT id, campaign_id, phone, fields, category FROM lead WHERE id = $1", lead_id)
    if lead is None:
        return None
    rows = await pool.fetch(
        """SELECT a.id, a.claimed_at, a.outcome, a.disposition, a.notes, o.name AS operator
           FROM attempt a LEFT JOIN operator o ON o.id = a.operator_id
           WHERE a.lead_id = $1 AND a.id IS DISTINCT FROM $2
           ORDER BY a.claimed_at DESC, a.id DESC LIMIT 20""",
        lead_id, current_attempt,
    )
    fields = lead["fields"]
    return CustomerCard(
        lead_id=lead["id"], campaign_id=lead["campaign_id"], phone=lead["phone"],
        fields=json.loads(fields) if isinstance(fields, str) else dict(fields),
        category=lead["category"],
        attempts=tuple(EarlierAttempt(r["id"], r["claimed_at"], r["outcome"], r["disposition"], r["notes"],
                                      r["operator"]) for r in rows),
    )


async def dispositions(pool: Store, campaign_id: int) -> tuple[Disposition, ...]:
    """The campaign's catalogue, or the default one when it has none yet (the engine writes that default
    on the first disposition, so the console offers the same codes the engine will accept). Retired codes
    are not offered: the engine refuses them."""
    rows = await pool.fetch(
        """SELECT code, label, final, follow_up_days, retry_after_s, schedules_callback, retired_at
           FROM disposition WHERE campaign_id = $1 ORDER BY code""",
        campaign_id,
    )
    if not rows:
        return DEFAULT_CATALOGUE
    return tuple(Disposition(**dict(r)) for r in rows if r["retired_at"] is None)


async def campaign_script(pool: Store, campaign_id: int) -> call_script.Script | None:
    """The campaign's script, None when it has none. A stored script is validated again on the way in:
    a document changed by hand in the database shows as an error, not as a broken console."""
    raw = await pool.fetchval("SELECT script FROM campaign WHERE id = $1", campaign_id)
    document = json.loads(raw) if isinstance(raw, str) else (raw or {})
    if not document:
        return None
    return call_script.parse(document)


async def lead_of(pool: Store, attempt_id: int) -> int | None:
    value = await pool.fetchval("SELECT lead_id FROM attempt WHERE id = $1", attempt_id)
    return None if value is None else int(value)


async def campaign_states(pool: asyncpg.Pool, campaign_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Name and state of these campaigns (the console says which of the operator's are paused)."""
    rows = await pool.fetch("SELECT id, name, state FROM campaign WHERE id = ANY($1::bigint[])", campaign_ids)
    return {r["id"]: (r["name"], r["state"]) for r in rows}
