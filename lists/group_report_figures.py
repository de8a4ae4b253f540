"""The queries behind ``dialer report group``: a campaign group's operator time, per member and per pool.

Operators work several campaigns, so their session rows carry no campaign. A wrap-up is the after-call
work of the call the operator talked on last, so it is attributed to that call's campaign; the pool's
ready / on-call / wrap-up time is that of the operators of any member (each operator once).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool


async def wrap_s_by_campaign(conn: Conn, campaign_ids: Sequence[int], *, since: datetime | None,
                             until: datetime) -> dict[int, float]:
    """Wrap-up seconds in the period per campaign, each wrap-up given to its operator's last connected call."""
    rows = await conn.fetch(
        """SELECT last.campaign_id,
                  sum(extract(epoch FROM least(coalesce(os.ended_at, $3), $3)
                                         - greatest(os.started_at, coalesce($2, os.started_at))))::float8 AS s
           FROM operator_session os
           JOIN LATERAL (SELECT a.campaign_id FROM attempt a
                         WHERE a.operator_id = os.operator_id AND a.connected_at IS NOT NULL
                           AND a.connected_at <= os.started_at
                         ORDER BY a.connected_at DESC LIMIT 1) last ON true
           WHERE os.state = 'wrap_up' AND last.campaign_id = ANY($1::bigint[])
             AND os.started_at < $3 AND ($2::timestamptz IS NULL OR coalesce(os.ended_at, $3) > $2)
           GROUP BY 1""",
        list(campaign_ids), since, until)
    return {r["campaign_id"]: r["s"] for r in rows}


async def pool_seconds(conn: Conn, campaign_ids: Sequence[int], *, since: datetime | None,
                       until: datetime) -> dict[str, float]:
    """Seconds per operator state in the period, over the operators of any of these campaigns."""
    rows = await conn.fetch(
        """WITH ops AS (SELECT DISTINCT operator_id FROM campaign_operator WHERE campaign_id = ANY($1::bigint[]))
           SELECT os.state,
                  sum(extract(epoch FROM least(coalesce(os.ended_at, $3), $3)
                                         - greatest(os.started_at, coalesce($2, os.started_at))))::float8 AS s
           FROM operator_session os JOIN ops USING (operator_id)
           WHERE os.started_at < $3 AND ($2::timestamptz IS NULL OR coalesce(os.ended_at, $3) > $2)
           GROUP BY 1""",
        list(campaign_ids), since, until)
    return {r["state"]: r["s"] for r in rows}
