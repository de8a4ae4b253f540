"""The claim's SQL, and where an engine's last claim stopped in each category (``ClaimCursor``).

Kept apart from ``lists/leads.py``, which runs the claim: this is the one statement a dialing round costs,
and what it does — strategy order, calling-hour zones, DNC, personal callbacks, the ownership fence, the
contact history, the cursor — is easiest to read in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

__all__ = ["HEAD", "ClaimCursor", "OrderKey", "claim_sql"]

# Before every lead in index order: (-priority, next_due_at, id) of a lead cannot be lower (priority is an int).
HEAD = (-(2 ** 31), datetime.min.replace(tzinfo=UTC), 0)
OrderKey = tuple[int, datetime, int]


class ClaimCursor:
    """Where an engine's last claim stopped in each category, so that the next one starts there.

    A claimed lead leaves the ready set, but its entry in the claim's index stays until VACUUM; a claim
    that started from the head of the list every time walked past all of them, and at a few thousand
    claims a second that walk, not the claim, became the cost, growing through the run
    (benchmarks/results/claims-notes.md). Leads can come back *behind* the cursor (a lead given back
    undialed, one skipped while its zone was outside calling hours or locked by another engine, a higher
    priority loaded meanwhile), so the cursor goes back to the head whenever a claim comes back short and at
    least every ``rewind_s`` seconds of loop time: such a lead waits that long at most."""

    def __init__(self, rewind_s: float = 1.0) -> None:
        self.rewind_s = rewind_s
        self._after: dict[str, OrderKey] = {}
        self._rewound_at: float | None = None

    def after(self, category: str, now: float) -> OrderKey:
        if self._rewound_at is None or now - self._rewound_at >= self.rewind_s:
            self.rewind(now)
        return self._after.get(category, HEAD)

    def advance(self, category: str, key: OrderKey) -> None:
        self._after[category] = max(self._after.get(category, HEAD), key)

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
# PostgreSQL planned the claim afresh at every call, which cost about as much as running it.
# With ``fenced`` ($26 engine, $27 epoch) the claim takes leads only while the campaign's owner row still
# carries this engine's epoch, locked FOR SHARE until commit so that a takeover waits for the claim (see
# dialer/ownership/campaigns.py); with ``with_history`` ($26 or $28: since when) it returns each lead's contact history
# for the per-lead rules. Both used to be round trips of their own, and a round trip costs more here than
# the query: the claim went from 6 to 4 (BEGIN, claim, attempt rows, COMMIT; the saving is in
# benchmarks/results/claims-notes.md).
@lru_cache(maxsize=128)
def claim_sql(limit: int, fenced: bool = False, with_history: bool = False) -> str:
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
