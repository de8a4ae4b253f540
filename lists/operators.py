"""Operator rows and their sessions (every state change timestamped, for reports and the law)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


class OperatorError(Exception):
    pass


@dataclass(frozen=True)
class OperatorRow:
    id: int
    name: str
    extension: str
    priority: int
    simulated: bool


async def create(
    conn: asyncpg.Connection | asyncpg.Pool, *, name: str, extension: str, priority: int = 0,
    simulated: bool = False,
) -> OperatorRow:
    if not extension.isdigit():
        raise OperatorError(f"extension {extension!r} must be digits (it names the conference op<ext>)")
    try:
        row = await conn.fetchrow(
            """INSERT INTO operator (name, extension, priority, simulated) VALUES ($1, $2, $3, $4)
               RETURNING id, name, extension, priority, simulated""",
            name, extension, priority, simulated,
        )
    except asyncpg.UniqueViolationError:
        raise OperatorError(f"an operator named {name!r} or with extension {extension} exists already") from None
    return OperatorRow(**dict(row))


async def assign(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int, operator_ids: list[int]) -> None:
    await conn.executemany(
        "INSERT INTO campaign_operator (campaign_id, operator_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(campaign_id, op) for op in operator_ids],
    )


async def for_campaign(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> list[OperatorRow]:
    rows = await conn.fetch(
        """SELECT o.id, o.name, o.extension, o.priority, o.simulated FROM operator o
           JOIN campaign_operator co ON co.operator_id = o.id WHERE co.campaign_id = $1 ORDER BY o.id""",
        campaign_id,
    )
    return [OperatorRow(**dict(r)) for r in rows]


async def record_state(
    conn: asyncpg.Connection | asyncpg.Pool, *, operator_id: int, state: str, now: datetime,
    reason: str | None = None,
) -> None:
    """Close the open session row and open the next one, in one statement (one round trip: the floor
    changes state several times per call)."""
    await conn.execute(
        """WITH closed AS (
               UPDATE operator_session SET ended_at = $4 WHERE operator_id = $1 AND ended_at IS NULL)
           INSERT INTO operator_session (operator_id, state, reason, started_at)
           SELECT $1, $2, $3, $4 WHERE $2 <> 'logged_out'""",
        operator_id, state, reason, now,
    )
