"""What a campaign's list looks like now: counts by category and state, and when the ready leads fall due.

``-infinity`` (a new lead, due at once) and any past time count as "due now"; future times are grouped by
the hour in the campaign's time zone, so a manager sees the afternoon's callbacks piling up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class ListSummary:
    by_category_state: dict[tuple[str, str], int]
    due_now: int
    due_by_hour: list[tuple[datetime, int]]  # local hour start (campaign zone), ready leads due in it
    open_callbacks: int

    @property
    def total(self) -> int:
        return sum(self.by_category_state.values())


async def summarize(conn: asyncpg.Connection, *, campaign_id: int, now: datetime, hours: int = 48) -> ListSummary:
    counts = await conn.fetch(
        "SELECT category, state, count(*) AS n FROM lead WHERE campaign_id = $1 GROUP BY 1, 2", campaign_id)
    due_now = await conn.fetchval(
        "SELECT count(*) FROM lead WHERE campaign_id = $1 AND state = 'ready' AND next_due_at <= $2",
        campaign_id, now)
    by_hour = await conn.fetch(
        """SELECT date_trunc('hour', l.next_due_at AT TIME ZONE c.timezone) AS hour, count(*) AS n
           FROM lead l JOIN campaign c ON c.id = l.campaign_id
           WHERE l.campaign_id = $1 AND l.state = 'ready' AND l.next_due_at > $2
             AND l.next_due_at <= $2 + $3 * interval '1 hour'
           GROUP BY 1 ORDER BY 1""",
        campaign_id, now, hours)
    callbacks = await conn.fetchval(
        """SELECT count(*) FROM callback cb JOIN lead l ON l.id = cb.lead_id
           WHERE l.campaign_id = $1 AND cb.done_at IS NULL""", campaign_id)
    return ListSummary({(r["category"], r["state"]): r["n"] for r in counts}, due_now,
                       [(r["hour"], r["n"]) for r in by_hour], callbacks)
