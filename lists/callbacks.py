"""Callbacks: an operator promises the customer a call at a date and time, maybe on another number.

A personal callback is kept for the operator who promised it (the claim hands the engine the operator so it
routes the answered call to them). If that operator is not free when it falls due, the callback becomes
anyone's ``campaign.personal_callback_grace_s`` after its due time, so no promise is broken because
someone went home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from lists import zones
from lists.errors import CallbackError, PhoneError
from lists.phones import normalize

SCOPES = ("personal", "anyone")


@dataclass(frozen=True)
class Callback:
    id: int
    lead_id: int
    due_at: datetime
    scope: str
    operator_id: int | None
    phone: str | None


async def schedule(
    conn: asyncpg.Connection,
    *,
    lead_id: int,
    due_at: datetime,
    now: datetime,
    scope: str = "anyone",
    operator_id: int | None = None,
    phone: str | None = None,
) -> int:
    """Put the lead back as a callback due at ``due_at``; returns the callback's id. An earlier open
    callback of the same lead is closed (the newest promise is the one that counts)."""
    if scope not in SCOPES:
        raise CallbackError(f"callback scope {scope!r} must be 'personal' or 'anyone'")
    if scope == "personal" and operator_id is None:
        raise CallbackError("a personal callback needs the operator who keeps it")
    if due_at.tzinfo is None:
        raise CallbackError("the callback time needs a time zone (got a naive datetime)")
    lead = await conn.fetchrow(
        """SELECT l.id, l.phone, l.timezone_set, c.default_region FROM lead l JOIN campaign c ON c.id = l.campaign_id
           WHERE l.id = $1""",
        lead_id,
    )
    if lead is None:
        raise CallbackError(f"no lead with id {lead_id}")
    dial_phone = None
    if phone:
        try:
            dial_phone = normalize(phone, lead["default_region"]).e164
        except PhoneError as exc:
            raise CallbackError(f"callback number {phone!r}: {exc}") from None
    if dial_phone == lead["phone"]:
        dial_phone = None
    async with conn.transaction():
        # calling hours are those of the number the customer gave
        zone_set = None if dial_phone is None else await zones.zone_set_for(
            conn, dial_phone, lead["default_region"], lead_phone=lead["phone"], lead_zone_set=lead["timezone_set"])
        await conn.execute("UPDATE callback SET done_at = $2 WHERE lead_id = $1 AND done_at IS NULL", lead_id, now)
        callback_id = await conn.fetchval(
            """INSERT INTO callback (lead_id, due_at, scope, operator_id, phone)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            lead_id, due_at, scope, operator_id if scope == "personal" else None, dial_phone,
        )
        await conn.execute(
            """UPDATE lead SET state = 'ready', category = 'callback', next_due_at = $2, owner_operator = $3,
                               dial_phone = $4, dial_timezone_set = $5, attempts = 0, claimed_by = NULL,
                               lease_until = NULL
               WHERE id = $1""",
            lead_id, due_at, operator_id if scope == "personal" else None, dial_phone, zone_set,
        )
    return callback_id


async def close_open(conn: asyncpg.Connection, *, lead_id: int, now: datetime) -> None:
    """The promise was kept (the customer was reached) or made moot (the lead is finished)."""
    await conn.execute("UPDATE callback SET done_at = $2 WHERE lead_id = $1 AND done_at IS NULL", lead_id, now)


async def open_callbacks(conn: asyncpg.Connection, *, campaign_id: int,
                         operator_id: int | None = None) -> list[Callback]:
    """Open callbacks of a campaign by due time (an operator's own list when ``operator_id`` is given)."""
    rows = await conn.fetch(
        """SELECT cb.id, cb.lead_id, cb.due_at, cb.scope, cb.operator_id, cb.phone
           FROM callback cb JOIN lead l ON l.id = cb.lead_id
           WHERE l.campaign_id = $1 AND cb.done_at IS NULL AND ($2::bigint IS NULL OR cb.operator_id = $2)
           ORDER BY cb.due_at, cb.id""",
        campaign_id, operator_id,
    )
    return [Callback(**dict(r)) for r in rows]


async def personal_grace_s(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> int | None:
    """How long a personal callback waits for its operator, in seconds (None: no such campaign)."""
    grace_s: int | None = await conn.fetchval("SELECT personal_callback_grace_s FROM campaign WHERE id = $1",
                                              campaign_id)
    return grace_s


async def set_personal_grace(conn: asyncpg.Connection, campaign_id: int, minutes: float, *, actor: str,
                             now: datetime) -> None:
    """How long after it falls due a personal callback waits for its operator before anyone may take it.
    Audited, and announced so running engines claim with it from their next round."""
    if minutes < 0:
        raise CallbackError(f"the personal callback grace must be minutes ≥ 0, not {minutes:g}")
    async with conn.transaction():
        old = await personal_grace_s(conn, campaign_id)
        await conn.execute("UPDATE campaign SET personal_callback_grace_s = $2 WHERE id = $1",
                           campaign_id, round(minutes * 60))
        await conn.execute(
            """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
               VALUES ($1, $2, $3, 'personal_callback_grace_s', to_jsonb($4::int), to_jsonb($5::int))""",
            now, actor, campaign_id, old, round(minutes * 60))
        await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign_id))

