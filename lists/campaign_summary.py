"""The figures a campaign manager asks first (``dialer demo`` ends with them), computed from the store (not
from engine memory), so they are the same figures a report run tomorrow would give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class CampaignSummary:
    attempts: int
    answered: int
    connected: int
    abandoned: int
    dropped: int
    leads: int
    leads_done: int
    leads_ready: int
    leads_claimed: int
    operators: int
    logged_in_hours: float
    busy_hours: float
    talk_minutes: float
    outcomes: dict[str, int]

    @property
    def abandon_rate(self) -> float:
        """Abandoned share of live answers, as the law counts it."""
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def occupancy(self) -> float:
        return self.busy_hours / self.logged_in_hours if self.logged_in_hours else 0.0

    @property
    def talk_minutes_per_operator_hour(self) -> float:
        return self.talk_minutes / self.logged_in_hours if self.logged_in_hours else 0.0


async def summarize(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int, *, until: datetime) -> CampaignSummary:
    a = await conn.fetchrow(
        """SELECT count(*) AS attempts,
                  count(answered_at) AS answered,
                  count(connected_at) AS connected,
                  count(*) FILTER (WHERE abandoned) AS abandoned,
                  count(*) FILTER (WHERE outcome = 'dropped') AS dropped,
                  coalesce(sum(extract(epoch FROM ended_at - connected_at)) FILTER (WHERE connected_at IS NOT NULL),
                           0) / 60.0 AS talk_minutes
           FROM attempt WHERE campaign_id = $1 AND outcome IS DISTINCT FROM 'not_dialed'""",
        campaign_id,
    )
    outcomes = {r["outcome"] or "(in flight)": r["n"] for r in await conn.fetch(
        "SELECT outcome, count(*) AS n FROM attempt WHERE campaign_id = $1 GROUP BY outcome ORDER BY 2 DESC",
        campaign_id)}
    lead_counts = {r["state"]: r["n"] for r in await conn.fetch(
        "SELECT state, count(*) AS n FROM lead WHERE campaign_id = $1 GROUP BY state", campaign_id)}
    s = await conn.fetchrow(
        """SELECT count(DISTINCT s.operator_id) AS operators,
                  coalesce(sum(extract(epoch FROM coalesce(s.ended_at, $2) - s.started_at))
                           FILTER (WHERE s.state IN ('ready', 'on_call', 'wrap_up', 'paused')), 0) / 3600.0 AS logged,
                  coalesce(sum(extract(epoch FROM coalesce(s.ended_at, $2) - s.started_at))
                           FILTER (WHERE s.state IN ('on_call', 'wrap_up')), 0) / 3600.0 AS busy
           FROM operator_session s JOIN campaign_operator co ON co.operator_id = s.operator_id
           WHERE co.campaign_id = $1""",
        campaign_id, until,
    )
    return CampaignSummary(
        attempts=a["attempts"], answered=a["answered"], connected=a["connected"], abandoned=a["abandoned"],
        dropped=a["dropped"], leads=sum(lead_counts.values()), leads_done=lead_counts.get("done", 0),
        leads_ready=lead_counts.get("ready", 0), leads_claimed=lead_counts.get("claimed", 0),
        operators=s["operators"], logged_in_hours=float(s["logged"]), busy_hours=float(s["busy"]),
        talk_minutes=float(a["talk_minutes"]), outcomes=outcomes,
    )
