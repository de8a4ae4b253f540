"""Leads for the engine: claim the next ones to dial, give back the ones not dialed, settle the dialed.

A claim is a lease. ``FOR UPDATE SKIP LOCKED`` lets several engines claim from one list at once without
ever getting the same lead, and ``lease_until`` lets the leads of an engine that died (it stopped
heart-beating) come back. The claim takes the categories in the order the campaign's strategy gives for
the current time of day, in one statement (``lists/claim_statement.py``).

Every time is a parameter: a simulated day in virtual time writes the same rows a real day would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from lists import callbacks, numbers, retries, strategy, zones
from lists.claim_statement import HEAD, ClaimCursor, claim_sql
from lists.dispositions import apply_disposition, record_disposition
from lists.errors import OutcomeError
from lists.phones import normalize

__all__ = ["ClaimPlan", "ClaimedLead", "claim", "claim_manual", "expire_leases", "extend_leases",
           "record_disposition", "release", "settle", "transfer", "zones_in_play"]


ContactHistoryRows = tuple[tuple[datetime, ...], tuple[datetime, ...], tuple[datetime, ...]]


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
    last_operator: int | None = None  # who last talked to this person (sticky routing); None for new leads
    timezones: tuple[str, ...] = ()   # every candidate zone of the number dialed, when it has several
    # when asked for: (attempts, conversations, abandoned answers) of this person, oldest first
    contact_history: ContactHistoryRows | None = None


@dataclass(frozen=True)
class ClaimPlan:
    """What the claim needs of its campaign. The engine keeps it with the campaign (a change of strategy
    reaches it with the campaign's NOTIFY), so a claim costs no campaign read."""

    timezone: str
    strategy: strategy.Strategy
    personal_callback_grace_s: int

    @classmethod
    def of(cls, timezone: str, strategy_document: dict | None, personal_callback_grace_s: int) -> ClaimPlan:
        return cls(timezone, strategy.from_json(strategy_document), personal_callback_grace_s)


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
    plan: ClaimPlan | None = None,
    cursor: ClaimCursor | None = None,
    loop_now: float = 0.0,
    owner: tuple[str, int] | None = None,
    history_since: datetime | None = None,
) -> list[ClaimedLead]:
    """The next ``n`` dialable leads in strategy order, leased to ``engine`` until now + lease_s.

    ``allowed_timezones``: only leads all of whose candidate zones are in it (compliance says which zones
    are inside calling hours now). ``free_operators``: when given, a personal callback still kept for its
    operator is only claimed while that operator is free. ``plan``: the campaign's strategy and zone as the
    caller already knows them (read from the campaign when not given). ``cursor``: start where this
    caller's last claim stopped (``loop_now`` times its rewinds); without one, every claim starts at the
    head of the list. ``owner``: (engine, epoch) the campaign's owner row must still carry, or nothing is
    claimed (the ownership fence, checked in the same statement). ``history_since``: also return each
    lead's contact history since then (``ClaimedLead.contact_history``)."""
    if n <= 0:
        return []
    if plan is None:
        plan = await load_plan(conn, campaign_id)
        if plan is None:
            return []
    order = plan.strategy.order_at(now, plan.timezone)
    today = now.astimezone(ZoneInfo(plan.timezone)).date()
    zones = list(allowed_timezones) if allowed_timezones is not None else None
    operators = list(free_operators) if free_operators is not None else None
    rank = {category: i for i, category in enumerate(order)}
    starts = [cursor.after(category, loop_now) if cursor is not None else HEAD for category in order]
    extra: list[object] = list(owner) if owner is not None else []
    if history_since is not None:
        extra.append(history_since)
    rows = await conn.fetch(
        claim_sql(int(n), owner is not None, history_since is not None), campaign_id, now, zones, operators,
        plan.personal_callback_grace_s, f"campaign:{campaign_id}", engine, now + timedelta(seconds=lease_s), today,
        *order, *(part for start in starts for part in start), *extra,
    )
    rows.sort(key=lambda r: (rank[r["category"]], -r["priority"], r["next_due_at"], r["id"]))
    if cursor is not None:
        if not rows or rows[0]["picked"] < n:
            cursor.rewind(loop_now)    # short: what is left may lie behind the cursor
        else:
            for r in rows:
                cursor.advance(r["category"], (-r["priority"], r["next_due_at"], r["id"]))
    return [ClaimedLead(r["id"], r["campaign_id"], r["phone"], r["timezone"], _json(r["fields"]), r["category"],
                        r["attempts"], r["owner_operator"], r["last_operator"], tuple(r["timezones"] or ()),
                        _history(r) if history_since is not None else None)
            for r in rows]


def _history(row: asyncpg.Record) -> ContactHistoryRows:
    return tuple(row["history_attempts"]), tuple(row["history_conversations"]), tuple(row["history_abandons"])


async def load_plan(conn: asyncpg.Connection, campaign_id: int) -> ClaimPlan | None:
    campaign = await conn.fetchrow(
        "SELECT timezone, strategy, personal_callback_grace_s FROM campaign WHERE id = $1", campaign_id
    )
    if campaign is None:
        return None
    return ClaimPlan.of(campaign["timezone"], _json(campaign["strategy"]), campaign["personal_callback_grace_s"])


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
    """An operator dials a number by hand: the campaign's lead for it, claimed like any other so no engine
    dials it at the same time. None when the number is on a DNC list or already claimed; ``PhoneError``
    when it is not a phone number of the campaign's region (the dialer dials only real numbers).

    A number not in the lists becomes a lead ``by_hand``: it carries the number's history (attempts, caps,
    do-not-call) and ends done after its call (``settle``), so the dialer never calls it on its own."""
    campaign = await conn.fetchrow("SELECT timezone, default_region FROM campaign WHERE id = $1", campaign_id)
    if campaign is None:
        return None
    found = normalize(phone, campaign["default_region"])
    zone = found.timezones[0] if len(found.timezones) == 1 else None
    listed = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM dnc WHERE phone = $1 AND scope IN ('company', $2))",
        found.e164, f"campaign:{campaign_id}",
    )
    if listed:
        return None
    today = now.astimezone(ZoneInfo(campaign["timezone"])).date()
    return await conn.fetchval(
        """INSERT INTO lead (campaign_id, phone, timezone, state, claimed_by, lease_until, attempts,
                             attempts_today, attempts_day, by_hand)
           VALUES ($1, $2, $3, 'claimed', $4, $5, 1, 1, $6, true)
           ON CONFLICT (campaign_id, phone) DO UPDATE
               SET state = 'claimed', claimed_by = $4, lease_until = $5, attempts = lead.attempts + 1,
                   attempts_today = CASE WHEN lead.attempts_day = $6 THEN lead.attempts_today + 1 ELSE 1 END,
                   attempts_day = $6
               WHERE lead.state <> 'claimed'
           RETURNING id""",
        campaign_id, found.e164, zone, engine, now + timedelta(seconds=lease_s), today,
    )


async def zones_in_play(conn: asyncpg.Connection, *, campaign_id: int) -> set[str]:
    """Every zone some ready lead of the campaign may be in (and maybe more): what compliance must judge
    to pass ``allowed_timezones`` to the claim.

    Leads point at shared zone sets, so every zone of every set is taken (a few dozen rows) instead of
    the sets the campaign's leads use: finding those meant reading every lead (5 s on 10 million, once a
    minute per engine). A zone too many only costs a judgement; the claim still wants every zone of a
    lead's set allowed. Leads without a set (dialed by hand) are found through a small partial index."""
    rows = await conn.fetch(
        """SELECT DISTINCT unnest(zones) AS zone FROM timezone_set
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
    cause: int | None = None,
) -> bool:
    """The attempt on a claimed lead ended with ``outcome`` (and the network's hangup ``cause``): retry it
    later, on the same or the next of its numbers (``lists.numbers``), or finish it.

    Returns False (and changes nothing) when the lead is no longer claimed by this engine: a settle seen
    twice, or one that comes after the disposition already decided the lead's future."""
    if outcome not in retries.OUTCOMES:
        raise OutcomeError(f"unknown outcome {outcome!r} (known: {', '.join(retries.OUTCOMES)})")
    async with conn.transaction():
        lead = await conn.fetchrow(
            """SELECT l.id AS lead_id, l.campaign_id, l.category, l.attempts, l.attempts_today, l.phone,
                      l.alt_phones, l.dial_phone, l.dead_phones, l.timezone_set, l.by_hand, c.timezone,
                      c.retry_rules, c.default_region
               FROM lead l JOIN campaign c ON c.id = l.campaign_id
               WHERE l.id = $1 AND l.state = 'claimed' AND l.claimed_by = $2
               FOR UPDATE OF l""",
            lead_id, engine,
        )
        if lead is None:
            return False
        await conn.execute("UPDATE lead SET last_outcome = $2 WHERE id = $1", lead_id, outcome)
        if lead["by_hand"] and lead["category"] != "callback" and outcome != "connected":
            await _finish(conn, lead_id, now)   # the operator's call: never retried by the dialer
            return True
        if outcome == "connected":
            if disposition is not None:
                await apply_disposition(conn, lead_id=lead_id, code=disposition, now=now)
            else:
                await _finish(conn, lead_id, now)
            return True
        dialed = lead["dial_phone"] or lead["phone"]
        following = dialed
        if lead["alt_phones"] or lead["dial_phone"] or numbers.is_dead(outcome, cause):
            following = await _next_number(conn, lead, dialed, outcome, cause)
            if following is None:   # every number is dead or on a do-not-call list
                await _finish(conn, lead_id, now)
                return True
        rules = retries.from_json(_json(lead["retry_rules"]))
        decision = rules.decide(outcome, attempts=lead["attempts"], attempts_today=lead["attempts_today"],
                                now=now, timezone=lead["timezone"], other_number=following != dialed)
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


async def _next_number(conn: asyncpg.Connection, lead: asyncpg.Record, dialed: str, outcome: str,
                       cause: int | None) -> str | None:
    """Choose (and store on the lead) the number the next attempt dials, with that number's zones."""
    dead = set(lead["dead_phones"])
    if numbers.is_dead(outcome, cause):
        dead.add(dialed)
    own = [lead["phone"], *lead["alt_phones"]]
    barred = {r["phone"] for r in await conn.fetch(
        "SELECT phone FROM dnc WHERE phone = ANY($1::text[]) AND scope IN ('company', $2)",
        list({*own, dialed}), f"campaign:{lead['campaign_id']}",
    )}
    following = numbers.next_number(own, dialed, outcome, dead=dead, barred=barred,
                                    keep=lead["category"] == "callback")
    zone_set = None
    if following is not None and following != lead["phone"]:
        zone_set = await zones.zone_set_for(conn, following, lead["default_region"], lead_phone=lead["phone"],
                                            lead_zone_set=lead["timezone_set"])
    await conn.execute(
        "UPDATE lead SET dial_phone = $2, dial_timezone_set = $3, dead_phones = $4 WHERE id = $1",
        lead["lead_id"], None if following == lead["phone"] else following, zone_set,
        sorted(dead),
    )
    return following


async def _finish(conn: asyncpg.Connection, lead_id: int, now: datetime) -> None:
    await conn.execute(
        """UPDATE lead SET state = 'done', claimed_by = NULL, lease_until = NULL, dial_phone = NULL,
                           dial_timezone_set = NULL
           WHERE id = $1""",
        lead_id,
    )
    await callbacks.close_open(conn, lead_id=lead_id, now=now)


async def extend_leases(conn: asyncpg.Connection, *, engine: str, now: datetime, lease_s: float) -> None:
    """The engine's heartbeat: its claims stay its own for another ``lease_s``."""
    await conn.execute(
        "UPDATE lead SET lease_until = $2 WHERE state = 'claimed' AND claimed_by = $1",
        engine, now + timedelta(seconds=lease_s),
    )


# A claim given back: ready again, except the lead of a number dialed by hand (never the dialer's to call).
_BACK = "CASE WHEN by_hand AND category <> 'callback' THEN 'done' ELSE 'ready' END"


async def expire_leases(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Claims whose engine stopped heart-beating go back to ready. The attempt counts stay: the dead
    engine may have dialed, and counting one call too many is the safe side.

    A lead with an attempt still open is not released, however old the lease: its call may still be
    going on in Asterisk, and only a recovery that asked the PBX (``dialer.recovery``, run by the
    engine's restart or by a takeover) may end that attempt and free the lead."""
    status = await conn.execute(
        f"""UPDATE lead SET state = {_BACK}, claimed_by = NULL, lease_until = NULL
           WHERE state = 'claimed' AND lease_until < $1
             AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.lead_id = lead.id AND a.ended_at IS NULL)""",
        now,
    )
    return int(status.rsplit(" ", 1)[1])



async def return_unattempted(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int, engine: str) -> int:
    """A dead engine's claims of a campaign with no open attempt go back to ready (its settle was still queued
    when it died: no call of theirs can be on the line); how many."""
    status = await conn.execute(
        f"""UPDATE lead SET state = {_BACK}, claimed_by = NULL, lease_until = NULL
           WHERE campaign_id = $1 AND state = 'claimed' AND claimed_by = $2
             AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.lead_id = lead.id AND a.ended_at IS NULL)""",
        campaign_id, engine)
    return int(status.rsplit(" ", 1)[1])

async def add_named(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int,
                    rows: Sequence[tuple[str, str, str, int]]) -> None:
    """Leads known by a name only, (phone, time zone, name, source row) each: ``dialer demo``'s list."""
    await conn.executemany(
        """INSERT INTO lead (campaign_id, phone, timezone, fields, source_row)
           VALUES ($1, $2, $3, jsonb_build_object('name', $4::text), $5)""",
        [(campaign_id, *row) for row in rows])


async def unfinished(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> int:
    """Leads of the campaign not done yet (due later, claimed or in a call)."""
    left: int = await conn.fetchval("SELECT count(*) FROM lead WHERE campaign_id = $1 AND state <> 'done'",
                                    campaign_id)
    return left


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
