"""Attempt rows: one per dial, the record the law and the reports read.

The engine opens the row before it originates (so a crash never leaves a call without a record) and
then writes each transition. Updates are merges: a column given as None keeps its value, so replaying
an event, or writing the same transition twice after a reconnect, changes nothing. The moments a call
was placed, answered and connected are written once: the first value stored stays. An engine that
re-attaches a call after a restart knows only when it found it, not when it was answered, and must not
write over the real times (the hand-off latency is read from them). The disposition written here is
the system's (``unknown``, by a recovery): it never replaces a code a person set
(``lists.dispositions.record_disposition``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class NewAttempt:
    lead_id: int
    campaign_id: int
    phone: str
    caller_id: str


@dataclass(frozen=True)
class AttemptUpdate:
    """A partial write to one attempt; None means "leave as is"."""
    attempt_id: int
    state: str | None = None
    originated_at: datetime | None = None
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    originate_reason: int | None = None
    dial_status: str | None = None
    hangup_cause: int | None = None
    operator_id: int | None = None
    recording: str | None = None
    abandoned: bool | None = None
    disposition: str | None = None
    rating: int | None = None
    pbx: str | None = None          # the Asterisk server the call was placed on (several servers)


_UPDATABLE = [f.name for f in fields(AttemptUpdate) if f.name != "attempt_id"]
_WRITTEN_ONCE = {"originated_at", "answered_at", "connected_at", "disposition"}
_UPDATE_SQL = "UPDATE attempt SET " + ", ".join(
    f"{name} = COALESCE({name}, ${i + 2})" if name in _WRITTEN_ONCE else f"{name} = COALESCE(${i + 2}, {name})"
    for i, name in enumerate(_UPDATABLE)
) + " WHERE id = $1"


async def open_attempts(
    conn: asyncpg.Connection | asyncpg.Pool, attempts: Sequence[NewAttempt], *, engine: str,
    pbx: str | None, now: datetime,
) -> list[int]:
    """Insert one row per attempt about to be dialed, with the category its lead has now (the lead's moves
    on after the call); returns their ids in the same order."""
    if not attempts:
        return []
    rows = await conn.fetch(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, pbx, state, claimed_at, category)
           SELECT a.lead_id, a.campaign_id, a.phone, a.caller_id, $5, $6, 'originating', $7, l.category
           FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY
                AS a(lead_id, campaign_id, phone, caller_id, n)
           LEFT JOIN lead l ON l.id = a.lead_id
           ORDER BY a.n
           RETURNING id""",
        [a.lead_id for a in attempts], [a.campaign_id for a in attempts],
        [a.phone for a in attempts], [a.caller_id for a in attempts], engine, pbx, now,
    )
    return [r["id"] for r in rows]


async def apply_updates(conn: asyncpg.Connection | asyncpg.Pool, updates: Sequence[AttemptUpdate]) -> None:
    if updates:
        await conn.executemany(
            _UPDATE_SQL, [(u.attempt_id, *(getattr(u, name) for name in _UPDATABLE)) for u in updates]
        )


async def open_for_engine(conn: asyncpg.Connection | asyncpg.Pool, engine: str,
                          campaign_id: int | None = None) -> list[asyncpg.Record]:
    """Attempts this engine started and never ended (of one campaign, if given): what a restart or a
    takeover must resolve."""
    return await conn.fetch(
        """SELECT id, lead_id, campaign_id, state, phone, caller_id, operator_id, answered_at, connected_at,
                  disposition
           FROM attempt WHERE engine = $1 AND ended_at IS NULL AND ($2::bigint IS NULL OR campaign_id = $2)
           ORDER BY id""", engine, campaign_id
    )


async def transfer(conn: asyncpg.Connection, *, attempt_ids: Sequence[int], from_engine: str,
                   to_engine: str) -> None:
    """Open attempts of another engine become ours: a takeover follows their calls to the end."""
    await conn.execute(
        "UPDATE attempt SET engine = $3 WHERE id = ANY($1::bigint[]) AND engine = $2 AND ended_at IS NULL",
        attempt_ids, from_engine, to_engine,
    )


async def lead_of(conn: asyncpg.Connection | asyncpg.Pool, attempt_id: int) -> int | None:
    value = await conn.fetchval("SELECT lead_id FROM attempt WHERE id = $1", attempt_id)
    return None if value is None else int(value)


async def campaign_of(conn: asyncpg.Connection | asyncpg.Pool, attempt_id: int) -> int | None:
    campaign_id: int | None = await conn.fetchval("SELECT campaign_id FROM attempt WHERE id = $1", attempt_id)
    return campaign_id


async def operator_of(conn: asyncpg.Connection | asyncpg.Pool, attempt_id: int) -> int | None:
    """Who talked on the attempt (None: nobody yet, or no such attempt)."""
    operator_id: int | None = await conn.fetchval("SELECT operator_id FROM attempt WHERE id = $1", attempt_id)
    return operator_id


async def phone_of(conn: asyncpg.Connection | asyncpg.Pool, attempt_id: int) -> str | None:
    """The number the attempt dialed."""
    phone: str | None = await conn.fetchval("SELECT phone FROM attempt WHERE id = $1", attempt_id)
    return phone


async def disposition_of(conn: asyncpg.Connection | asyncpg.Pool, attempt_id: int) -> str | None:
    code: str | None = await conn.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id)
    return code


async def set_script_answers(conn: asyncpg.Connection | asyncpg.Pool, attempt_id: int,
                             answers: dict[str, Any]) -> None:
    """What the customer answered to the call script's questions."""
    await conn.execute("UPDATE attempt SET script_answers = $2::jsonb WHERE id = $1", attempt_id, json.dumps(answers))
