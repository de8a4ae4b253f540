"""The customer card the operator console shows when a call connects: the lead and its earlier attempts.
Read-only: the console changes the store only through operator commands."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


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


async def customer_card(db: asyncpg.Pool, lead_id: int, current_attempt: int | None) -> CustomerCard | None:
    lead = await db.fetchrow("SELECT id, campaign_id, phone, fields, category FROM lead WHERE id = $1", lead_id)
    if lead is None:
        return None
    rows = await db.fetch(
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
