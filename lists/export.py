"""A campaign's leads out to a CSV file, with their results, for the customer or for another tool.

UTF-8 with a BOM and ``,`` between cells: Excel opens it with Cyrillic intact, and ``dialer lists load``
reads it back (the lead fields come out as their own columns).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import asyncpg

COLUMNS = ("lead_id", "phone", "alt_phones", "timezone", "category", "state", "priority", "attempts",
           "next_due_at", "last_outcome", "last_disposition")


async def export_leads(conn: asyncpg.Connection, *, campaign_id: int, path: Path,
                       progress: Callable[[int], None] | None = None) -> int:
    """Write every lead of the campaign (ordered by id); returns how many."""
    names = [r["key"] for r in await conn.fetch(
        "SELECT DISTINCT jsonb_object_keys(fields) AS key FROM lead WHERE campaign_id = $1 ORDER BY 1", campaign_id)]
    field_names = [n for n in names if n not in COLUMNS]
    count = 0
    with Path(path).open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*COLUMNS, *field_names])
        async with conn.transaction():  # a cursor needs one
            cursor = conn.cursor(
                """SELECT id, phone, array_to_string(alt_phones, ' ') AS alt, timezone, category, state, priority,
                          attempts, next_due_at, last_outcome, last_disposition, fields
                   FROM lead WHERE campaign_id = $1 ORDER BY id""",
                campaign_id, prefetch=5000,
            )
            async for r in cursor:
                fields = json.loads(r["fields"]) if isinstance(r["fields"], str) else r["fields"]
                due = r["next_due_at"]
                writer.writerow([
                    r["id"], r["phone"], r["alt"], r["timezone"] or "", r["category"], r["state"], r["priority"],
                    r["attempts"], "" if due is None or due.year < 1900 else due.isoformat(),
                    r["last_outcome"] or "", r["last_disposition"] or "",
                    *(fields.get(n, "") for n in field_names),
                ])
                count += 1
                if progress and count % 5000 == 0:
                    progress(count)
    return count
