"""Leads for the engine: claim the next ones to dial, give back the ones not dialed, settle the dialed.

A claim is a lease. ``FOR UPDATE SKIP LOCKED`` lets several engines claim from one list at once without
ever getting the same lead, and ``lease_until`` lets the leads of an engine that died (it stopped
heart-beating) come back. The claim takes the categories in the order the campaign's strategy gives for
the current time of day, in one statement (see ``_CLAIM``).

Every time is a parameter: a simulated day in virtual time writes the same rows a real day would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from lists import callbacks, retries, strategy
from lists.dispositions import apply_disposition, record_disposition
from lists.errors import OutcomeError, PhoneError
from lists.phones import normalize

__all__ = ["ClaimedLead", "claim", "claim_manual", "expire_leases", "extend_leases",
           "record_disposition", "release", "settle", "transfer", "zones_in_play"]


@dataclass(frozen=True)
class ClaimedLead:
    id: int
    campaign_id: int
    phone: str  # the number to dial now (a callback may ask for another one than the lead's)
    timezone: str | None
    fields: dict
    category: str
    attempts: int
    owner_operator: int | None  # set for a personal callback still kept for its operator: route to them


_DIALABLE = """
    SELECT l.id FROM lead l
    WHERE l.campaign_id = $1 AND l.state = 'ready' AND l.category = ${category} AND l.next_due_at <= $2
      AND ($3::text[] IS NULL OR CASE WHEN l.timezone_set IS NULL THEN l.timezone = ANY($3)
                                      ELSE l.timezone_set IN (SELECT id FROM timezone_set WHERE zones <@ $3) END)
      AND ($4::bigint[] IS NULL OR l.owner_operator IS NULL OR l.category <> 'callback'
           OR l.next_due_at + $5 * interval '1 second' <= $2 OR l.owner_operator = ANY($4))
      AND NOT EXISTS (SELECT 1 FROM dnc d
                      WHERE d.phone IN (l.phone, l.dial_phone) AND d.scope IN ('company', $6))
    ORDER BY l.priority DESC, l.next_due_at, l.id
    LIMIT $7
    FOR UPDATE SKIP LOCKED"""

# One statement for the whole claim: a locking sub-select per category, in the order of the strategy, under
# one LIMIT. PostgreSQL runs a CTE only as far as its reader pulls rows, so a later category is not even
# scanned (nor any of its rows locked) once the earlier ones filled the claim; each sub-select walks the
# lead_claim_order index in order, so 10 million ready leads cost the same as ten.
_CLAIM = "WITH " + ",\n".join(f"c{i} AS ({_DIALABLE.format(category=11 + i)})" for i in range(4)) + """,
picked AS (
    SELECT id FROM (SELECT id FROM c0 UNION ALL SELECT id FROM c1 UNION ALL SELECT id FROM c2
                    UNION ALL SELECT id FROM c3) AS ordered
    LIMIT $7
)
UPDATE lead SET state = 'claimed', claimed_by = $8, lease_until = $9, attempts = lead.attempts + 1,
                attempts_today = CASE WHEN lead.attempts_day = $10 THEN lead.attempts_today + 1 ELSE 1 END,
                attempts_day = $10
FROM picked WHERE lead.id = picked.id
RETURNING lead.id, lead.campaign_id, coalesce(lead.dial_phone, lead.phone) AS phone, lead.timezone,
          lead.fields, lead.category, lead.attempts, lead.priority, lead.next_due_at,
          CASE WHEN lead.category = 'callback' AND lead.next_due_at + $5 * interval '1 second' > $2
               THEN lead.owner_operator END AS owner_operator
"""


async def claim(
    conn: asyncpg.Connection,
    *,
    campaign_id: int,
    engine: str,
    n: int,
    now: datetime,
    lease_s: float = 300,
    allowed_timezones: Sequence[str] | None = None,
    free_operators: Sequence[int] | None = None,
) -> list[ClaimedLead]:
    """The next ``n`` dialable leads in strategy order, leased to ``engine`` until now + lease_s.

    ``allowed_timezones``: only leads all of whose candidate zones are in it (compliance says which zones
    are inside calling hours now). ``free_operators``: when given, a personal callback still kept for its
    operator is only claimed while that operator is free."""
    if n <= 0:
        return []
    campaign = await conn.fetchrow(
        "SELECT timezone, strategy, personal_callback_grace_s FROM campaign WHERE id = $1", campaign_id
    )
    if campaign is None:
        return []
    order = strategy.from_json(_json(campaign["strategy"])).order_at(now, campaign["timezone"])
    today = now.astimezone(ZoneInfo(campaign["timezone"])).date()
    zones = list(allowed_timezones) if allowed_timezones is not None else None
    operators = list(free_operators) if free_operators is not None else None
    rank = {category: i for i, category in enumerate(order)}
    rows = await conn.fetch(
        _CLAIM, campaign_id, now, zones, operators, campaign["personal_callback_grace_s"], f"campaign:{campaign_id}",
        n, engine, now + timedelta(seconds=lease_s), today, *order,
    )
    rows.sort(key=lambda r: (rank[r["category"]], -r["priority"], r["next_due_at"], r["id"]))
    return [ClaimedLead(r["id"], r["campaign_id"], r["phone"], r["timezone"], _json(r["fields"]), r["category"],
                        r["attempts"], r["owner_operator"]) for r in rows]


def _json(value: object) -> dict:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


async def claim_manual(
    conn: asyncpg.Connection,
    *,
    campaign_id: int,
    phone: str,
    engine: str,
    now: datetime,
    lease_s: float = 300,
) -> int | None:
    """An operator dials a number by hand: the campaign's lead for it (created when new), claimed like any
    other so no engine dials it at the same time. None when the number is on a DNC list or already claimed."""
    campaign = await conn.fetchrow("SELECT timezone, default_region FROM campaign WHERE id = $1", campaign_id)
    if campaign is None:
        return None
    try:
        found = normalize(phone, campaign["default_region"])
        e164 = found.e164
        zone = found.timezones[0] if len(found.timezones) == 1 else None
    except PhoneError:
        e164, zone = phone.strip(), None  # an internal or short number the operator knows how to reach
    listed = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM dnc WHERE phone = $1 AND scope IN ('company', $2))",
        e164, f"campaign:{campaign_id}",
    )
    if listed:
        return None
    today = now.astimezone(ZoneInfo(campaign["timezone"])).date()
    return await conn.fetchval(
        """INSERT INTO lead (campaign_id, phone, timezone, state, claimed_by, lease_until, attempts,
                             attempts_today, attempts_day)
           VALUES ($1, $2, $3, 'claimed', $4, $5, 1, 1, $6)
           ON CONFLICT (campaign_id, phone) DO UPDATE
               SET state = 'claimed', claimed_by = $4, lease_until = $5, attempts = lead.attempts + 1,
                   attempts_today = CASE WHEN lead.attempts_day = $6 THEN lead.attempts_today + 1 ELSE 1 END,
                   attempts_day = $6
               WHERE lead.state <> 'claimed'
           RETURNING id""",
        campaign_id, e164, zone, engine, now + timedelta(seconds=lease_s), today,
    )


async def zones_in_play(conn: asyncpg.Connection, *, campaign_id: int) -> set[str]:
    """Every zone some ready lead of the campaign may be in: what compliance must judge to pass
    ``allowed_timezones`` to the claim."""
    rows = await conn.fetch(
        """SELECT DISTINCT unnest(s.zones) AS zone FROM timezone_set s
           WHERE s.id IN (SELECT DISTINCT timezone_set FROM lead WHERE campaign_id = $1 AND state = 'ready')
           UNION
           SELECT DISTINCT timezone FROM lead
           WHERE campaign_id = $1 AND state = 'ready' AND timezone_set IS NULL AND timezone IS NOT NULL""",
        campaign_id,
    )
    return {r["zone"] for r in rows}


async def release(conn: asyncpg.Connection, *, lead_ids: Sequence[int], engine: str) -> None:
    """Claimed but never dialed (the engine claimed more than it could originate): as if never claimed."""
    await conn.execute(
        """UPDATE lead SET state = 'ready', claimed_by = NULL, lease_until = NULL,
                           attempts = greatest(attempts - 1, 0), attempts_today = greatest(attempts_today - 1, 0)
           WHERE id = ANY($1::bigint[]) AND state = 'claimed' AND claimed_by = $2""",
        list(lead_ids), engine,
    )


async def settle(
    conn: asyncpg.Connection,
    *,
    lead_id: int,
    engine: str,
    outcome: str,
    now: datetime,
    disposition: str | None = None,
) -> bool:
    """The attempt on a claimed lead ended with ``outcome``: retry it later or finish it.

    Returns False (and changes nothing) when the lead is no longer claimed by this engine: a settle seen
    twice, or one that comes after the disposition already decided the lead's future."""
    if outcome not in retries.OUTCOMES:
        raise OutcomeError(f"unknown outcome {outcome!r} (known: {', '.join(retries.OUTCOMES)})")
    async with conn.transaction():
        lead = await conn.fetchrow(
            """SELECT l.category, l.attempts, l.attempts_today, c.timezone, c.retry_rules
               FROM lead l JOIN campaign c ON c.id = l.campaign_id
               WHERE l.id = $1 AND l.state = 'claimed' AND l.claimed_by = $2
               FOR UPDATE OF l""",
            lead_id, engine,
        )
        if lead is None:
            return False
        await conn.execute("UPDATE lead SET last_outcome = $2 WHERE id = $1", lead_id, outcome)
        if outcome == "connected":
            if disposition is not None:
                await apply_disposition(conn, lead_id=lead_id, code=disposition, now=now)
            else:
                await _finish(conn, lead_id, now)
            return True
        rules = retries.from_json(_json(lead["retry_rules"]))
        decision = rules.decide(outcome, attempts=lead["attempts"], attempts_today=lead["attempts_today"],
                                now=now, timezone=lead["timezone"])
        if decision.done:
            await _finish(conn, lead_id, now)
            return True
        # a failed callback is still a promise: it keeps its category (and its operator)
        category = "callback" if lead["category"] == "callback" else "retry"
        await conn.execute(
            """UPDATE lead SET state = 'ready', category = $2, next_due_at = $3, claimed_by = NULL,
                               lease_until = NULL
               WHERE id = $1""",
            lead_id, category, decision.due,
        )
    return True


async def _finish(conn: asyncpg.Connection, lead_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE lead SET state = 'done', claimed_by = NULL, lease_until = NULL, dial_phone = NULL WHERE id = $1",
        lead_id,
    )
    await callbacks.close_open(conn, lead_id=lead_id, now=now)


async def extend_leases(conn: asyncpg.Connection, *, engine: str, now: datetime, lease_s: float) -> None:
    """The engine's heartbeat: its claims stay its own for another ``lease_s``."""
    await conn.execute(
        "UPDATE lead SET lease_until = $2 WHERE state = 'claimed' AND claimed_by = $1",
        engine, now + timedelta(seconds=lease_s),
    )


async def expire_leases(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Claims whose engine stopped heart-beating go back to ready. The attempt counts stay: the dead
    engine may have dialed, and counting one call too many is the safe side.

    A lead with an attempt still open is not released, however old the lease: its call may still be
    going on in Asterisk, and only a recovery that asked the PBX (``dialer.recovery``, run by the
    engine's restart or by a takeover) may end that attempt and free the lead."""
    status = await conn.execute(
        """UPDATE lead SET state = 'ready', claimed_by = NULL, lease_until = NULL
           WHERE state = 'claimed' AND lease_until < $1
             AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.lead_id = lead.id AND a.ended_at IS NULL)""",
        now,
    )
    return int(status.rsplit(" ", 1)[1])


async def transfer(conn: asyncpg.Connection, *, lead_ids: Sequence[int], from_engine: str, to_engine: str,
                   now: datetime, lease_s: float) -> None:
    """Another engine's claims become ours (a takeover re-attached their live calls): we settle them."""
    await conn.execute(
        """UPDATE lead SET claimed_by = $3, lease_until = $4
           WHERE id = ANY($1::bigint[]) AND state = 'claimed' AND claimed_by = $2""",
        lead_ids, from_engine, to_engine, now + timedelta(seconds=lease_s),
    )


async def postpone(conn: asyncpg.Connection, *, lead_id: int, engine: str, due: datetime) -> None:
    """Claimed, then refused by a compliance rule the claim's SQL does not know (a state law, a contact
    cap, the UK 72-hour block): back to ready, not dialed, due when the rule allows it again."""
    await conn.execute(
        """UPDATE lead SET state = 'ready', claimed_by = NULL, lease_until = NULL, next_due_at = $3,
                           attempts = greatest(attempts - 1, 0), attempts_today = greatest(attempts_today - 1, 0)
           WHERE id = $1 AND state = 'claimed' AND claimed_by = $2""",
        lead_id, engine, due,
    )
