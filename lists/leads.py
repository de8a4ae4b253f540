"""Leads for the engine: claim the next ones to dial, give back the ones not dialed, settle the dialed.

A claim is a lease. ``FOR UPDATE SKIP LOCKED`` lets several engines claim from one list at once without
ever getting the same lead, and ``lease_until`` lets the leads of an engine that died (it stopped
heart-beating) come back. The claim takes the categories in the order the campaign's strategy gives for
the current time of day, in one statement (see ``_claim_sql``).

Every time is a parameter: a simulated day in virtual time writes the same rows a real day would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import asyncpg

from lists import callbacks, numbers, retries, strategy, zones
from lists.dispositions import apply_disposition, record_disposition
from lists.errors import OutcomeError, PhoneError
from lists.phones import normalize

__all__ = ["ClaimCursor", "ClaimPlan", "ClaimedLead", "claim", "claim_manual", "expire_leases", "extend_leases",
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


# Before every lead in index order: (-priority, next_due_at, id) of a lead cannot be lower (priority is an int).
_HEAD = (-(2 ** 31), datetime.min.replace(tzinfo=UTC), 0)
OrderKey = tuple[int, datetime, int]


class ClaimCursor:
    """Where an engine's last claim stopped in each category, so that the next one starts there.

    A claimed lead leaves the ready set, but its entry in the claim's index stays until VACUUM; a claim
    that started from the head of the list every time walked past all of them, and at a few thousand
    claims a second that walk, not the claim, became the cost (benchmarks/lists.py: half the database's
    CPU, growing through the run). Leads can come back *behind* the cursor (a lead given back undialed,
    one skipped while its zone was outside calling hours or locked by another engine, a higher priority
    loaded meanwhile), so the cursor goes back to the head whenever a claim comes back short and at
    least every ``rewind_s`` seconds of loop time: such a lead waits that long at most."""

    def __init__(self, rewind_s: float = 1.0) -> None:
        self.rewind_s = rewind_s
        self._after: dict[str, OrderKey] = {}
        self._rewound_at: float | None = None

    def after(self, category: str, now: float) -> OrderKey:
        if self._rewound_at is None or now - self._rewound_at >= self.rewind_s:
            self.rewind(now)
        return self._after.get(category, _HEAD)

    def advance(self, category: str, key: OrderKey) -> None:
        self._after[category] = max(self._after.get(category, _HEAD), key)

    def rewind(self, now: float | None = None) -> None:
        self._after.clear()
        self._rewound_at = now


_DIALABLE = """
    SELECT l.id,
           EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone AND d.scope IN ('company', $6)) AS barred,
           l.dial_phone IS NOT NULL AND EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.dial_phone
                                                AND d.scope IN ('company', $6)) AS barred_other,
           coalesce(l.dial_phone, l.phone) AS dialed
    FROM lead l
    WHERE l.campaign_id = $1 AND l.state = 'ready' AND l.category = ${category} AND l.next_due_at <= $2
      AND ($3::text[] IS NULL OR CASE WHEN coalesce(l.dial_timezone_set, l.timezone_set) IS NULL
                                      THEN l.timezone = ANY($3)
                                      ELSE coalesce(l.dial_timezone_set, l.timezone_set)
                                           IN (SELECT id FROM timezone_set WHERE zones <@ $3) END)
      AND ($4::bigint[] IS NULL OR l.owner_operator IS NULL OR l.category <> 'callback'
           OR l.next_due_at + $5 * interval '1 second' <= $2 OR l.owner_operator = ANY($4))
      AND (-l.priority, l.next_due_at, l.id) > (${after}::int, ${after_due}::timestamptz, ${after_id}::bigint)
      {fenced}
    ORDER BY -l.priority, l.next_due_at, l.id
    LIMIT {limit}
    FOR UPDATE SKIP LOCKED"""

# One statement for the whole claim: a locking sub-select per category, in the order of the strategy, under
# one LIMIT. PostgreSQL runs a CTE only as far as its reader pulls rows, so a later category is not even
# scanned (nor any of its rows locked) once the earlier ones filled the claim; each sub-select walks the
# lead_claim_order index in order from where the last claim stopped (``ClaimCursor``), so 10 million ready
# leads cost the same as ten.
# A lead met whose number went on a do-not-call list after it was loaded is never dialed, and it leaves
# the ready leads in the same statement (done; or back to its main number when only the other number it
# was to dial is barred): left ready, every later claim would walk past it again, and a day of dialing
# piles up thousands of them at the head of the index.
# The LIMIT is written into the text (one statement per batch size, each prepared once): with it as a
# parameter the generic plan assumes a tenth of the list, costs millions and is JIT-compiled, so
# PostgreSQL planned the claim afresh at every call (a millisecond of the claim's two).
# With ``fenced`` ($26 engine, $27 epoch) the claim takes leads only while the campaign's owner row still
# carries this engine's epoch, locked FOR SHARE until commit so that a takeover waits for the claim (see
# dialer/ownership.py); with ``with_history`` ($26 or $28: since when) it returns each lead's contact history
# for the per-lead rules. Both used to be round trips of their own, and a round trip costs more here than
# the query: the claim went from 6 to 4 (BEGIN, claim, attempt rows, COMMIT), a fifth of its CPU.
@lru_cache(maxsize=128)
def _claim_sql(limit: int, fenced: bool = False, with_history: bool = False) -> str:
    fence = "AND EXISTS (SELECT 1 FROM owner)" if fenced else ""
    selects = (_DIALABLE.format(category=10 + i, after=14 + 3 * i, after_due=15 + 3 * i, after_id=16 + 3 * i,
                                limit=limit, fenced=fence) for i in range(4))
    owner = [_OWNER] if fenced else []
    history_from = _HISTORY_FROM.format(since=28 if fenced else 26) if with_history else ""
    return "WITH " + ",\n".join(owner + [f"c{i} AS ({select})" for i, select in enumerate(selects)]) \
        + _CLAIM_REST.format(limit=limit, history_from=history_from) + (_HISTORY_COLUMNS if with_history else "")


_OWNER = """owner AS (
    SELECT 1 FROM campaign_owner
    WHERE campaign_id = $1 AND engine = $26 AND epoch = $27 AND released_at IS NULL FOR SHARE)"""

# The rows compliance.store.lead_contact_history reads: the number's attempts (any campaign) and the lead's
# own (its other numbers too), over the lookback; attempts, conversations, abandoned answers. (Three
# columns of a lateral join: asyncpg decodes no arrays inside a row value.)
_HISTORY_FROM = """
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(h.claimed_at ORDER BY h.claimed_at), '{{}}') AS history_attempts,
           coalesce(array_agg(h.connected_at ORDER BY h.connected_at) FILTER (WHERE h.connected_at IS NOT NULL),
                    '{{}}') AS history_conversations,
           coalesce(array_agg(h.answered_at ORDER BY h.answered_at)
                    FILTER (WHERE h.abandoned AND h.answered_at IS NOT NULL), '{{}}') AS history_abandons
    FROM (SELECT a.id, a.claimed_at, a.connected_at, a.answered_at, a.abandoned FROM attempt a
          WHERE a.phone = picked.dialed AND a.claimed_at > ${since}::timestamptz AND a.claimed_at <= $2
          UNION
          SELECT a.id, a.claimed_at, a.connected_at, a.answered_at, a.abandoned FROM attempt a
          WHERE a.lead_id = picked.id AND a.claimed_at > ${since}::timestamptz AND a.claimed_at <= $2) h
) history"""
_HISTORY_COLUMNS = """,
          history.history_attempts, history.history_conversations, history.history_abandons"""


_CLAIM_REST = """,
picked AS (
    SELECT * FROM (SELECT * FROM c0 UNION ALL SELECT * FROM c1 UNION ALL SELECT * FROM c2
                   UNION ALL SELECT * FROM c3) AS ordered
    LIMIT {limit}
),
barred AS (
    UPDATE lead SET state = CASE WHEN picked.barred OR lead.phone = ANY(lead.dead_phones) THEN 'done'
                                 ELSE 'ready' END,
                    last_outcome = 'dnc', dial_phone = NULL, dial_timezone_set = NULL
    FROM picked WHERE lead.id = picked.id AND (picked.barred OR picked.barred_other)
    RETURNING lead.id, lead.state
),
kept_no_promise AS (
    UPDATE callback SET done_at = $2
    WHERE lead_id IN (SELECT id FROM barred WHERE state = 'done') AND done_at IS NULL
)
UPDATE lead SET state = 'claimed', claimed_by = $7, lease_until = $8, attempts = lead.attempts + 1,
                attempts_today = CASE WHEN lead.attempts_day = $9 THEN lead.attempts_today + 1 ELSE 1 END,
                attempts_day = $9
FROM picked{history_from}
WHERE lead.id = picked.id AND NOT (picked.barred OR picked.barred_other)
RETURNING lead.id, lead.campaign_id, coalesce(lead.dial_phone, lead.phone) AS phone,
          -- the zone of the number dialed (None: the number says, or several candidates)
          CASE WHEN lead.dial_timezone_set IS NULL THEN lead.timezone
               ELSE (SELECT s.zones[1] FROM timezone_set s
                     WHERE s.id = lead.dial_timezone_set AND cardinality(s.zones) = 1) END AS timezone,
          (SELECT s.zones FROM timezone_set s
           WHERE s.id = coalesce(lead.dial_timezone_set, lead.timezone_set) AND cardinality(s.zones) > 1) AS timezones,
          lead.fields, lead.category, lead.attempts, lead.priority, lead.next_due_at,
          (SELECT count(*) FROM picked) AS picked,   -- claimed and barred: did the claim come back short?
          CASE WHEN lead.category = 'callback' AND lead.next_due_at + $5 * interval '1 second' > $2
               THEN lead.owner_operator END AS owner_operator,
          -- sticky routing, in the same round trip: only a lead called before can have talked to someone
          CASE WHEN lead.attempts > 1 OR lead.category <> 'cold' THEN
              (SELECT a.operator_id FROM attempt a
               WHERE a.lead_id = lead.id AND a.connected_at IS NOT NULL AND a.operator_id IS NOT NULL
               ORDER BY a.id DESC LIMIT 1) END AS last_operator
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
    starts = [cursor.after(category, loop_now) if cursor is not None else _HEAD for category in order]
    extra: list[object] = list(owner) if owner is not None else []
    if history_since is not None:
        extra.append(history_since)
    rows = await conn.fetch(
        _claim_sql(int(n), owner is not None, history_since is not None), campaign_id, now, zones, operators,
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
                      l.alt_phones, l.dial_phone, l.dead_phones, l.timezone_set, c.timezone,
                      c.retry_rules, c.default_region
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
