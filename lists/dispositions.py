"""The disposition catalogue of a campaign and what each code does to its lead.

An operator ends wrap-up with a code. The code decides the lead's future: finished (a sale, or a
non-target answer such as "not interested" which closes the lead for good), a follow-up call N days later
(after "information sent"), a retry after some seconds, or a callback at the time the customer asked for.

Besides the campaign's own codes, every campaign knows the system's (table ``system_disposition``), which
only the engine sets and the console never offers: ``unknown`` marks a call that reached an operator but
ended while no engine ran, so nobody recorded the outcome. It finishes the lead (the person was reached and
is not dialed again as if never called) until someone replaces it with the real code.

Two codes of the campaign's catalogue are the system's too, because the engine acts on them: the opt-out
``do_not_call`` (the number goes on the company DNC list) and ``callback`` (schedules the call back). A
campaign may relabel them but not remove them or change what they do. A code calls were given is retired
rather than deleted (``lists/disposition_catalogue.py``): kept for history and reports, refused in wrap-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from lists import callbacks
from lists.errors import DispositionError


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str
    final: bool = False
    follow_up_days: int | None = None
    retry_after_s: int | None = None
    schedules_callback: bool = False
    system: bool = False        # set by the engine, not chosen in wrap-up (``system_disposition``)
    retired_at: datetime | None = None   # kept for history, no longer chosen in wrap-up


UNKNOWN = "unknown"   # reached an operator, outcome not recorded (the call ended while no engine ran)
NO_CODE = "no_code"   # reached an operator, whose wrap-up ended (timer, Ready) before they chose a code
AWAITING_CODE = (UNKNOWN, NO_CODE)   # the system's codes that wait for someone to set the real one
OPT_OUT = "do_not_call"   # the callee asked never to be called again
CALLBACK = "callback"

DEFAULT_CATALOGUE = (
    Disposition("sale", "Sale", final=True),
    Disposition("information_sent", "Information sent", follow_up_days=3),
    Disposition(CALLBACK, "Call back later", schedules_callback=True),
    Disposition("not_interested", "Not interested", final=True),
    Disposition("not_our_audience", "Not our audience", final=True),
    Disposition("no_decision", "No decision yet", follow_up_days=7),
    # The callee asked never to be called again: the engine also puts the number on the company DNC list.
    Disposition(OPT_OUT, "Do not call me (opt-out)", final=True),
)
# the catalogue's codes the engine acts on: their effect is fixed, only their label may change
PROTECTED = {d.code: d for d in DEFAULT_CATALOGUE if d.code in (OPT_OUT, CALLBACK)}


async def catalogue(conn: asyncpg.Connection, campaign_id: int, *,
                    retired: bool = False) -> dict[str, Disposition]:
    """The campaign's catalogue, the codes a wrap-up may choose (with ``retired``, the retired ones too; the
    system's codes are not in it); the default one is written first when the campaign has none."""
    rows = await _rows(conn, campaign_id)
    if not rows:
        await conn.executemany(
            """INSERT INTO disposition (campaign_id, code, label, final, follow_up_days, retry_after_s,
                                        schedules_callback)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
            [(campaign_id, d.code, d.label, d.final, d.follow_up_days, d.retry_after_s, d.schedules_callback)
             for d in DEFAULT_CATALOGUE],
        )
        return {d.code: d for d in DEFAULT_CATALOGUE}
    return {r["code"]: Disposition(**dict(r)) for r in rows if retired or r["retired_at"] is None}


async def offered(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> tuple[Disposition, ...]:
    """The codes a console offers: the campaign's catalogue, or the default one when it has none yet, read
    only (the engine writes that default on the first disposition, so the console offers the same codes the
    engine will accept). Retired codes are not offered: the engine refuses them."""
    rows = await _rows(conn, campaign_id)
    if not rows:
        return DEFAULT_CATALOGUE
    return tuple(Disposition(**dict(r)) for r in rows if r["retired_at"] is None)


async def _rows(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> list[asyncpg.Record]:
    # The default codes in the default order, then the campaign's own: the console's list keeps one order
    # from before the first disposition (the default catalogue, not yet written) to after it.
    return await conn.fetch(
        """SELECT code, label, final, follow_up_days, retry_after_s, schedules_callback, retired_at
           FROM disposition WHERE campaign_id = $1 ORDER BY array_position($2::text[], code) NULLS LAST, code""",
        campaign_id, [d.code for d in DEFAULT_CATALOGUE],
    )


async def system_codes(conn: asyncpg.Connection) -> dict[str, Disposition]:
    """The codes only the engine sets, known to every campaign."""
    rows = await conn.fetch("SELECT code, label FROM system_disposition ORDER BY code")
    return {r["code"]: Disposition(r["code"], r["label"], system=True) for r in rows}


def describe(d: Disposition) -> str:
    """What the code does to its lead, as the CLI prints it."""
    if d.system:
        return "set by the engine; finishes the lead until someone sets the real code"
    if d.code == OPT_OUT:
        return "finishes the lead; the number goes on the company DNC list"
    if d.final:
        return "finishes the lead"
    if d.follow_up_days is not None:
        return f"follow-up in {d.follow_up_days} day(s)"
    if d.retry_after_s is not None:
        return f"retry after {d.retry_after_s} s"
    if d.schedules_callback:
        return "callback at the time the operator sets"
    return "finishes the lead"


async def apply_disposition(
    conn: asyncpg.Connection,
    *,
    lead_id: int,
    code: str,
    now: datetime,
    operator_id: int | None = None,
    callback_at: datetime | None = None,
    callback_scope: str = "anyone",
    callback_phone: str | None = None,
) -> Disposition:
    """Set the lead's future from the code (ends any claim on it)."""
    lead = await conn.fetchrow(
        "SELECT l.campaign_id, c.timezone FROM lead l JOIN campaign c ON c.id = l.campaign_id WHERE l.id = $1",
        lead_id,
    )
    if lead is None:
        raise DispositionError(f"no lead with id {lead_id}")
    own = await catalogue(conn, lead["campaign_id"], retired=True)
    disposition = own.get(code) or (await system_codes(conn)).get(code)
    choices = ", ".join(sorted(c for c, d in own.items() if d.retired_at is None))
    if disposition is None:
        raise DispositionError(f"unknown disposition {code!r}; this campaign knows: {choices}")
    if disposition.retired_at is not None:
        raise DispositionError(f"disposition {code!r} was retired from this campaign's catalogue; "
                               f"choose another: {choices}")
    if disposition.schedules_callback and callback_at is None:
        raise DispositionError(f"disposition {code!r} needs the callback date and time")
    if disposition.final and callback_at is not None:
        raise DispositionError(f"disposition {code!r} finishes the lead, so it cannot schedule a callback")
    async with conn.transaction():
        await conn.execute("UPDATE lead SET last_disposition = $2 WHERE id = $1", lead_id, code)
        if callback_at is not None:
            await callbacks.schedule(conn, lead_id=lead_id, due_at=callback_at, now=now, scope=callback_scope,
                                     operator_id=operator_id, phone=callback_phone)
            return disposition
        await callbacks.close_open(conn, lead_id=lead_id, now=now)
        if disposition.follow_up_days is not None:
            # "in 3 days" means the same local clock time 3 days on, across a DST change too
            local = now.astimezone(ZoneInfo(lead["timezone"]))
            await _reopen(conn, lead_id, "follow_up", local + timedelta(days=disposition.follow_up_days))
        elif disposition.retry_after_s is not None:
            await _reopen(conn, lead_id, "retry", now + timedelta(seconds=disposition.retry_after_s))
        else:
            await conn.execute(
                """UPDATE lead SET state = 'done', claimed_by = NULL, lease_until = NULL, dial_phone = NULL,
                                   dial_timezone_set = NULL
                   WHERE id = $1""",
                lead_id,
            )
    return disposition


async def _reopen(conn: asyncpg.Connection, lead_id: int, category: str, due: datetime) -> None:
    # a new series of attempts: the per-lead attempt cap counts from here
    await conn.execute(
        """UPDATE lead SET state = 'ready', category = $2, next_due_at = $3, attempts = 0, owner_operator = NULL,
                           dial_phone = NULL, dial_timezone_set = NULL, claimed_by = NULL, lease_until = NULL
           WHERE id = $1""",
        lead_id, category, due,
    )


async def record_disposition(
    conn: asyncpg.Connection,
    *,
    attempt_id: int,
    code: str,
    now: datetime,
    operator_id: int | None = None,
    callback_at: datetime | None = None,
    callback_scope: str = "anyone",
    callback_phone: str | None = None,
    notes: str | None = None,
) -> None:
    """Write the operator's code on the attempt and apply it to the lead. Recording the same code on the
    same attempt twice (a replayed event) changes nothing the second time."""
    async with conn.transaction():
        row = await conn.fetchrow("SELECT lead_id, disposition FROM attempt WHERE id = $1 FOR UPDATE", attempt_id)
        if row is None:
            raise DispositionError(f"no attempt with id {attempt_id}")
        if row["disposition"] == code:
            return
        await apply_disposition(conn, lead_id=row["lead_id"], code=code, now=now, operator_id=operator_id,
                                callback_at=callback_at, callback_scope=callback_scope,
                                callback_phone=callback_phone)
        await conn.execute(
            "UPDATE attempt SET disposition = $2, notes = coalesce($3, notes) WHERE id = $1",
            attempt_id, code, notes,
        )


async def set_later(conn: asyncpg.Connection, *, attempt_id: int, code: str, actor: str, now: datetime,
                    callback_at: datetime | None = None, notes: str | None = None) -> str | None:
    """A manager (or the operator, afterwards) sets the code of an ended call — typically one a recovery
    marked ``unknown`` — and it takes effect on the lead as if set in wrap-up. The change goes to the
    audit trail; returns the code it replaced."""
    async with conn.transaction():
        row = await conn.fetchrow(
            """SELECT a.campaign_id, a.operator_id, a.outcome, a.ended_at, a.disposition, l.state AS lead_state
               FROM attempt a JOIN lead l ON l.id = a.lead_id WHERE a.id = $1 FOR UPDATE""",
            attempt_id)
        if row is None:
            raise DispositionError(f"no attempt with id {attempt_id}")
        if row["ended_at"] is None:
            raise DispositionError(f"attempt {attempt_id} is still going on: its operator sets the code in wrap-up")
        if row["outcome"] != "connected":
            raise DispositionError(f"attempt {attempt_id} never reached an operator ({row['outcome']}): no code to set")
        if row["lead_state"] == "claimed":
            raise DispositionError(f"attempt {attempt_id}: its lead is being dialed again now; try after that call")
        if code in await system_codes(conn):
            raise DispositionError(f"{code!r} is a system code, set only by the engine")
        await record_disposition(conn, attempt_id=attempt_id, code=code, now=now, operator_id=row["operator_id"],
                                 callback_at=callback_at, notes=notes)
        await conn.execute(
            """INSERT INTO audit (at, actor, campaign_id, setting, old_value, new_value)
               VALUES ($1, $2, $3, $4, to_jsonb($5::text), to_jsonb($6::text))""",
            now, actor, row["campaign_id"], f"disposition of attempt {attempt_id}", row["disposition"], code)
    return row["disposition"]


async def to_set(conn: asyncpg.Connection, *, campaign_id: int, limit: int = 20) -> tuple[int, list[asyncpg.Record]]:
    """Connected calls of the campaign whose code is still one the system set while waiting for the real
    one (``unknown``, ``no_code``): how many, and the latest ``limit`` of them (attempt id, phone,
    operator, when connected, the code)."""
    rows = await conn.fetch(
        """SELECT a.id, a.phone, o.name AS operator, a.connected_at, a.disposition, count(*) OVER () AS total
           FROM attempt a LEFT JOIN operator o ON o.id = a.operator_id
           WHERE a.campaign_id = $1 AND a.disposition = ANY($2::text[])
           ORDER BY a.connected_at DESC NULLS LAST, a.id DESC LIMIT $3""",
        campaign_id, list(AWAITING_CODE), limit)
    return (rows[0]["total"] if rows else 0), rows


async def mark_no_code(conn: asyncpg.Connection, *, attempt_id: int, now: datetime) -> bool:
    """The engine ended the wrap-up of ``attempt_id`` by its timer: code it ``no_code`` unless a code was
    saved meanwhile (a console's Ctrl+S stays in wrap-up, and its command may come just before the timer).
    True when it was coded here."""
    async with conn.transaction():
        code = await conn.fetchval("SELECT disposition FROM attempt WHERE id = $1 FOR UPDATE", attempt_id)
        if code is not None:
            return False
        await record_disposition(conn, attempt_id=attempt_id, code=NO_CODE, now=now)
    return True
