"""Operator rows and their sessions (every state change timestamped, for reports and the law)."""

from __future__ import annotations

import json
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
    _check_extension(extension)
    _check_name(name)
    try:
        row = await conn.fetchrow(
            """INSERT INTO operator (name, extension, priority, simulated) VALUES ($1, $2, $3, $4)
               RETURNING id, name, extension, priority, simulated""",
            name, extension, priority, simulated,
        )
    except asyncpg.UniqueViolationError:
        raise OperatorError(f"an operator named {name!r} or with extension {extension} exists already") from None
    return OperatorRow(**dict(row))


def _check_extension(extension: str) -> None:
    if not extension.isdigit():
        raise OperatorError(f"extension {extension!r} must be digits (it names the conference op<ext>)")


def _check_name(name: str) -> None:
    if not name.strip():
        raise OperatorError("an operator's name may not be blank")


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


async def name_of(conn: asyncpg.Connection | asyncpg.Pool, operator_id: int) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM operator WHERE id = $1", operator_id)
    return name


async def campaign_ids_of(conn: asyncpg.Connection | asyncpg.Pool, operator_id: int) -> list[int]:
    """The campaigns the operator may work (``campaign_operator``)."""
    rows = await conn.fetch("SELECT campaign_id FROM campaign_operator WHERE operator_id = $1", operator_id)
    return [r["campaign_id"] for r in rows]


async def campaigns_of(conn: asyncpg.Connection | asyncpg.Pool, operator_id: int) -> list[tuple[int, str, str]]:
    """(id, name, time zone) of the campaigns the operator may work, by name."""
    rows = await conn.fetch(
        """SELECT c.id, c.name, c.timezone FROM campaign c JOIN campaign_operator co ON co.campaign_id = c.id
           WHERE co.operator_id = $1 ORDER BY c.name""",
        operator_id,
    )
    return [(r["id"], r["name"], r["timezone"]) for r in rows]


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


_ROW = "id, name, extension, priority, simulated"


async def get(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> OperatorRow:
    """An active operator by name (a retired one keeps its rows for history, not its name)."""
    row = await conn.fetchrow(f"SELECT {_ROW} FROM operator WHERE name = $1 AND retired_at IS NULL", name)
    if row is None:
        raise OperatorError(f"no operator named {name!r} (see `dialer operators list`)")
    return OperatorRow(**dict(row))


@dataclass(frozen=True)
class OperatorCard:
    """An operator as `dialer operators list/show` prints them: who, where, and what they are doing now."""
    row: OperatorRow
    campaigns: list[str]
    state: str            # the open session's state, or logged_out
    since: datetime | None
    calls_today: int


async def cards(conn: asyncpg.Connection | asyncpg.Pool, *, name: str | None = None,
                since: datetime | None = None) -> list[OperatorCard]:
    rows = await conn.fetch(
        """SELECT o.id, o.name, o.extension, o.priority, o.simulated,
                   coalesce(array_agg(c.name ORDER BY c.name) FILTER (WHERE c.name IS NOT NULL), '{}') AS campaigns,
                   s.state, s.started_at,
                   (SELECT count(*) FROM attempt a WHERE a.operator_id = o.id AND a.connected_at >= $2) AS calls
            FROM operator o
            LEFT JOIN campaign_operator co ON co.operator_id = o.id
            LEFT JOIN campaign c ON c.id = co.campaign_id
            LEFT JOIN operator_session s ON s.operator_id = o.id AND s.ended_at IS NULL
            WHERE o.retired_at IS NULL AND ($1::text IS NULL OR o.name = $1)
            GROUP BY o.id, s.state, s.started_at ORDER BY o.name""", name, since)
    return [OperatorCard(OperatorRow(r["id"], r["name"], r["extension"], r["priority"], r["simulated"]),
                         list(r["campaigns"]), r["state"] or "logged_out", r["started_at"], r["calls"]) for r in rows]


async def edit(conn: asyncpg.Connection | asyncpg.Pool, name: str, changes: dict[str, object], *, actor: str,
               now: datetime) -> OperatorRow:
    """Rename, move to another extension, change routing priority; audited. The extension names the
    operator's conference, so it may change only while they are logged out."""
    operator = await get(conn, name)
    if "extension" in changes:
        _check_extension(str(changes["extension"]))
        if await _logged_in(conn, operator.id):
            raise OperatorError(f"{name} is logged in: the extension can change only while they are logged out")
    if "name" in changes:
        _check_name(str(changes["name"]))
    old = {key: getattr(operator, key) for key in changes}
    changed = {key: value for key, value in changes.items() if old[key] != value}
    if not changed:
        return operator
    assignments = ", ".join(f"{key} = ${i}" for i, key in enumerate(changed, start=2))
    try:
        row = await conn.fetchrow(f"UPDATE operator SET {assignments} WHERE id = $1 RETURNING {_ROW}",
                                  operator.id, *changed.values())
    except asyncpg.UniqueViolationError:
        raise OperatorError("another operator has that name or extension") from None
    await _audit(conn, now, actor, operator.id, [(key, old[key], value) for key, value in changed.items()])
    return OperatorRow(**dict(row))


async def set_campaigns(conn: asyncpg.Connection | asyncpg.Pool, name: str, campaign_ids: dict[str, int], *,
                        join: bool, actor: str, now: datetime) -> OperatorRow:
    """Assign an operator to campaigns, or take them off (``join=False``); audited. A running engine
    reads the assignment when the campaign changes next or restarts."""
    operator = await get(conn, name)
    if join:
        for campaign_id in campaign_ids.values():
            await assign(conn, campaign_id=campaign_id, operator_ids=[operator.id])
    else:
        await conn.execute("DELETE FROM campaign_operator WHERE operator_id = $1 AND campaign_id = ANY($2::bigint[])",
                           operator.id, list(campaign_ids.values()))
    setting = "assign" if join else "unassign"
    await _audit(conn, now, actor, operator.id, [(setting, None, sorted(campaign_ids))])
    for campaign_id in campaign_ids.values():
        await conn.execute("SELECT pg_notify('campaign_changed', $1)", str(campaign_id))
    return operator


async def remove(conn: asyncpg.Connection | asyncpg.Pool, name: str, *, actor: str, now: datetime) -> str:
    """Take an operator off the floor for good. One who never took a call is deleted; one who did is
    retired (their attempts and sessions name them, and the law keeps those records). Refused while
    logged in: the engine would be left with a person it cannot reach."""
    operator = await get(conn, name)
    if await _logged_in(conn, operator.id):
        raise OperatorError(f"{name} is logged in: they log out first (or the engine logs them out)")
    worked = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM attempt WHERE operator_id = $1)", operator.id)
    if not worked:
        await conn.execute("DELETE FROM operator WHERE id = $1", operator.id)
        return "deleted"
    await conn.execute("DELETE FROM campaign_operator WHERE operator_id = $1", operator.id)
    await conn.execute("UPDATE operator SET retired_at = $2 WHERE id = $1", operator.id, now)
    await _audit(conn, now, actor, operator.id, [("retired", None, True)])
    return "retired"


async def _logged_in(conn: asyncpg.Connection | asyncpg.Pool, operator_id: int) -> bool:
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM operator_session WHERE operator_id = $1 AND ended_at IS NULL)", operator_id))


async def _audit(conn: asyncpg.Connection | asyncpg.Pool, now: datetime, actor: str, operator_id: int,
                 changes: list[tuple[str, object, object]]) -> None:
    await conn.executemany(
        """INSERT INTO audit (at, actor, operator_id, setting, old_value, new_value)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)""",
        [(now, actor, operator_id, key, json.dumps(old), json.dumps(new)) for key, old, new in changes])


ENGINE_STOPPED = "engine stopped"   # the reason of the session row a clean stop leaves (see ``stopped_with_engine``)


async def mark_engine_stop(conn: asyncpg.Connection | asyncpg.Pool, operator_ids: list[int], now: datetime) -> None:
    """The engine stopped cleanly and logged these operators out: a closed ``logged_out`` row says so, and
    the next start logs them in again (``stopped_with_engine``), as it does after a crash."""
    await conn.execute(
        """INSERT INTO operator_session (operator_id, state, reason, started_at, ended_at)
           SELECT id, 'logged_out', $2, $3, $3 FROM unnest($1::bigint[]) AS id""",
        operator_ids, ENGINE_STOPPED, now)


async def stopped_with_engine(conn: asyncpg.Connection | asyncpg.Pool, operator_ids: list[int], *,
                              since: datetime) -> dict[int, datetime]:
    """Of these operators, those a clean stop since ``since`` logged out and who have not logged in or out
    since: operator id → when the engine stopped."""
    rows = await conn.fetch(
        """SELECT s.operator_id, s.started_at FROM operator_session s
           WHERE s.reason = $2 AND s.operator_id = ANY($1::bigint[]) AND s.started_at >= $3
             AND NOT EXISTS (SELECT 1 FROM operator_session t WHERE t.id > s.id AND t.operator_id = s.operator_id)""",
        operator_ids, ENGINE_STOPPED, since)
    return {r["operator_id"]: r["started_at"] for r in rows}


async def day_figures(conn: asyncpg.Connection | asyncpg.Pool, operator_ids: list[int],
                      since: datetime) -> dict[int, tuple[int, float]]:
    """Operator id → (conversations, seconds of talk) since ``since`` (the start of their day): what their
    console counts, read once when an engine starts so that a restart does not put the day back at 0. A
    conversation still going on counts when it ends."""
    rows = await conn.fetch(
        """SELECT operator_id, count(*) AS calls, sum(extract(epoch FROM ended_at - connected_at)) AS talk_s
           FROM attempt WHERE operator_id = ANY($1::bigint[]) AND connected_at >= $2 AND ended_at IS NOT NULL
           GROUP BY operator_id""", operator_ids, since)
    return {r["operator_id"]: (r["calls"], float(r["talk_s"] or 0.0)) for r in rows}


async def day_seconds_by_state(conn: asyncpg.Connection | asyncpg.Pool, operator_ids: list[int], *,
                               since: datetime, until: datetime) -> dict[int, dict[str, float]]:
    """Operator id → stored state → seconds spent in it between ``since`` (the start of their day) and
    ``until`` (now), from their sessions: the occupancy a restarted engine carries on with. A session a
    killed engine left open counts until now, as the next state change will close it."""
    rows = await conn.fetch(
        """SELECT operator_id, state,
                  sum(extract(epoch FROM least(coalesce(ended_at, $3), $3) - greatest(started_at, $2))) AS s
           FROM operator_session WHERE operator_id = ANY($1::bigint[]) AND started_at < $3
             AND coalesce(ended_at, $3) > $2 GROUP BY operator_id, state""", operator_ids, since, until)
    seconds: dict[int, dict[str, float]] = {}
    for r in rows:
        seconds.setdefault(r["operator_id"], {})[r["state"]] = float(r["s"])
    return seconds


async def with_open_session(conn: asyncpg.Connection | asyncpg.Pool, operator_ids: list[int]) -> set[int]:
    """Of these operators, those logged in as far as the store knows (an open session row): after an
    engine died, the people who were working."""
    rows = await conn.fetch(
        "SELECT DISTINCT operator_id FROM operator_session WHERE ended_at IS NULL AND operator_id = ANY($1::bigint[])",
        operator_ids,
    )
    return {r["operator_id"] for r in rows}
