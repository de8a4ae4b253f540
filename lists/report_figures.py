"""The queries behind ``dialer report``: figures per group from attempt rows and operator_session rows.

Attempts are grouped by the key of the report (operator, local hour, disposition, list). Operator time
(ready = idle, on_call, wrap_up) comes from operator_session rows clipped to the period; an open session
counts up to ``until``, the moment the report is made (passed in, never now()).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

GROUPINGS = ("operator", "hour", "disposition", "list")

# The key of one attempt in each grouping. Hours are the campaign's local clock hours.
_ATTEMPT_KEY = {
    "operator": "coalesce(o.name, '(no operator)')",
    "hour": "to_char(date_trunc('hour', a.claimed_at AT TIME ZONE c.timezone), 'YYYY-MM-DD HH24:00')",
    "disposition": "coalesce(a.disposition, '(' || coalesce(a.outcome, 'open') || ')')",
    "list": "coalesce(cl.name, '(no list)')",
}


@asynccontextmanager
async def consistent_read(db: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One read-only snapshot: the groups and the total agree even while the engine writes. No JIT: the
    planner's guess for generate_series (1000 rows a session) makes it compile for longer than the query runs."""
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL jit = off")
        yield conn


async def _has_column(conn: asyncpg.Connection | asyncpg.Pool, table: str, column: str) -> bool:
    return bool(await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM information_schema.columns
                          WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)""",
        table, column))


async def conversion_codes(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int,
                           fallback: Sequence[str]) -> list[str]:
    """The codes that count as a conversion: final dispositions marked success when the catalogue has
    that mark, else the codes given (``sale`` by default)."""
    if await _has_column(conn, "disposition", "success"):
        rows = await conn.fetch("SELECT code FROM disposition WHERE campaign_id = $1 AND final AND success",
                                campaign_id)
        if rows:
            return [r["code"] for r in rows]
    return list(fallback)


async def attempt_figures(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int, by: str,
                          since: datetime | None, until: datetime, conversions: Sequence[str]) -> list[dict[str, Any]]:
    """One dict per group (key, attempts, answers, connects, abandons, talk_s, conversions, rating, ratings);
    by='' gives the single total row."""
    key = _ATTEMPT_KEY[by] if by else "'total'"
    # the post-call rating is an optional column: reports show it once the schema has it
    rated = await _has_column(conn, "attempt", "rating")
    rating, ratings = ("avg(a.rating)::float8", "count(a.rating)") if rated else ("NULL::float8", "0::bigint")
    rows = await conn.fetch(
        f"""SELECT {key} AS key,
                   count(*) AS attempts,
                   count(*) FILTER (WHERE a.answered_at IS NOT NULL) AS answers,
                   count(*) FILTER (WHERE a.connected_at IS NOT NULL) AS connects,
                   count(*) FILTER (WHERE a.abandoned) AS abandons,
                   coalesce(sum(extract(epoch FROM least(a.ended_at, $3) - a.connected_at))
                            FILTER (WHERE a.connected_at IS NOT NULL AND a.ended_at IS NOT NULL), 0)::float8
                       AS talk_s,
                   count(*) FILTER (WHERE a.disposition = ANY($4::text[])) AS conversions,
                   {rating} AS rating,
                   {ratings} AS ratings
            FROM attempt a
            JOIN campaign c ON c.id = a.campaign_id
            JOIN lead l ON l.id = a.lead_id
            LEFT JOIN call_list cl ON cl.id = l.list_id
            LEFT JOIN operator o ON o.id = a.operator_id
            WHERE a.campaign_id = $1 AND ($2::timestamptz IS NULL OR a.claimed_at >= $2) AND a.claimed_at < $3
            GROUP BY 1 ORDER BY 1""",
        campaign_id, since, until, list(conversions),
    )
    return [dict(r) for r in rows]


async def session_figures(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int, by: str,
                          since: datetime | None, until: datetime) -> dict[str, dict[str, float]]:
    """Seconds per operator state ({key: {state: seconds}}) for the operators of the campaign (assigned to
    it, or who took one of its calls in the period). by='operator', 'hour' or '' (total)."""
    if by == "operator":
        spread, key = "", "o.name"
        start, end = "s.st", "s.en"
    elif by == "hour":
        # split each session over the local clock hours it touches
        spread = ", generate_series(date_trunc('hour', s.local_st), s.local_en, interval '1 hour') AS h"
        key = "to_char(h, 'YYYY-MM-DD HH24:00')"
        start = "greatest(s.local_st, h)"
        end = "least(s.local_en, h + interval '1 hour')"
    elif by == "":
        spread, key, start, end = "", "'total'", "s.st", "s.en"
    else:
        raise ValueError(f"operator time cannot be grouped by {by!r}")
    rows = await conn.fetch(
        f"""WITH ops AS (
                SELECT operator_id FROM campaign_operator WHERE campaign_id = $1
                UNION
                SELECT operator_id FROM attempt
                WHERE campaign_id = $1 AND operator_id IS NOT NULL
                  AND ($2::timestamptz IS NULL OR claimed_at >= $2) AND claimed_at < $3
            ), clipped AS (
                SELECT os.operator_id, os.state, c.timezone AS tz,
                       greatest(os.started_at, coalesce($2, os.started_at)) AS st,
                       least(coalesce(os.ended_at, $3), $3) AS en
                FROM operator_session os JOIN ops USING (operator_id), campaign c
                WHERE c.id = $1 AND os.started_at < $3 AND ($2::timestamptz IS NULL OR coalesce(os.ended_at, $3) > $2)
            ), s AS (   -- local clock times once per session (hours are the campaign's)
                SELECT *, st AT TIME ZONE tz AS local_st, en AT TIME ZONE tz AS local_en FROM clipped
            )
            SELECT {key} AS key, s.state, sum(extract(epoch FROM {end} - {start}))::float8 AS seconds
            FROM s JOIN operator o ON o.id = s.operator_id {spread}
            WHERE {end} > {start}
            GROUP BY 1, 2""",
        campaign_id, since, until,
    )
    figures: dict[str, dict[str, float]] = {}
    for r in rows:
        figures.setdefault(r["key"], {})[r["state"]] = figures.get(r["key"], {}).get(r["state"], 0.0) + r["seconds"]
    return figures
