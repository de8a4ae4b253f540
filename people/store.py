"""People in the store: adding them, their passwords, the campaigns a supervisor watches, and logging
in and out (each recorded in ``login_audit``). Passwords are hashed off the event loop and while holding no
store connection (``passwords.verify_aside``): scrypt takes tens of milliseconds of CPU on purpose, and a
server's sessions share a few connections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from people import passwords
from people.lockout import Standing
from people.rights import ROLES, Person

Conn = asyncpg.Connection | asyncpg.Pool
WRONG = "wrong name or password"


class PersonError(Exception):
    """A change to people that cannot be made; the message names the person or the setting."""


class LoginRefused(Exception):
    """The login is refused; the message is safe to show in the browser."""


@dataclass(frozen=True)
class PersonRow:
    name: str
    role: str
    operator: str | None
    disabled: bool
    locked_until: datetime | None
    campaigns: tuple[str, ...]
    extension: str | None = None


async def add(conn: Conn, *, name: str, role: str, password: str, operator: str | None, now: datetime,
              extension: str | None = None) -> None:
    if role not in ROLES:
        raise PersonError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if extension is not None and not extension.isdigit():
        raise PersonError(f"extension {extension!r}: a phone extension is digits, e.g. 200")
    if not name.strip():
        raise PersonError("a person needs a name")
    passwords.check_new(password)
    operator_id = None
    if operator is not None:
        operator_id = await conn.fetchval("SELECT id FROM operator WHERE name = $1", operator)
        if operator_id is None:
            raise PersonError(f"no operator named {operator!r}; add one with `dialer operators add {operator} …`")
    if role == "operator" and operator_id is None:
        raise PersonError(f"{name} works as an operator: give --operator NAME (the operator row they work as)")
    digest = await passwords.hash_aside(password)
    try:
        await conn.execute(
            """INSERT INTO person (name, role, operator_id, password_hash, created_at, extension)
               VALUES ($1, $2, $3, $4, $5, $6)""", name, role, operator_id, digest, now, extension)
    except asyncpg.UniqueViolationError as exc:
        what = f"operator {operator!r} has a login already" if "operator_id" in str(exc) else f"{name!r} exists already"
        raise PersonError(what) from None


async def set_password(conn: Conn, name: str, password: str) -> None:
    """A new password; it also lifts a lock, as a manager resetting it has checked who asks."""
    passwords.check_new(password)
    digest = await passwords.hash_aside(password)
    done = await conn.execute(
        "UPDATE person SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE name = $1", name, digest)
    if done == "UPDATE 0":
        raise PersonError(f"no person named {name!r} (see `dialer users list`)")


async def set_extension(conn: Conn, name: str, extension: str) -> None:
    """The person's own phone, rung when they listen to an operator's call from a browser."""
    if not extension.isdigit():
        raise PersonError(f"extension {extension!r}: a phone extension is digits, e.g. 200")
    done = await conn.execute("UPDATE person SET extension = $2 WHERE name = $1", name, extension)
    if done == "UPDATE 0":
        raise PersonError(f"no person named {name!r} (see `dialer users list`)")


async def disable(conn: Conn, name: str) -> None:
    done = await conn.execute("UPDATE person SET disabled = true WHERE name = $1", name)
    if done == "UPDATE 0":
        raise PersonError(f"no person named {name!r} (see `dialer users list`)")


async def supervise(conn: Conn, name: str, campaign: str) -> None:
    row = await conn.fetchrow("SELECT id, role FROM person WHERE name = $1", name)
    if row is None:
        raise PersonError(f"no person named {name!r} (see `dialer users list`)")
    if row["role"] != "supervisor":
        raise PersonError(f"{name} is a {row['role']}, not a supervisor")
    campaign_id = await conn.fetchval("SELECT id FROM campaign WHERE name = $1", campaign)
    if campaign_id is None:
        raise PersonError(f"no campaign named {campaign!r}")
    await conn.execute("INSERT INTO supervisor_campaign VALUES ($1, $2) ON CONFLICT DO NOTHING", row["id"], campaign_id)


async def all_people(conn: Conn) -> list[PersonRow]:
    rows = await conn.fetch(
        """SELECT p.name, p.role, o.name AS operator, p.disabled, p.locked_until, p.extension,
                  coalesce(array_agg(c.name ORDER BY c.name) FILTER (WHERE c.name IS NOT NULL), '{}') AS campaigns
           FROM person p LEFT JOIN operator o ON o.id = p.operator_id
           LEFT JOIN supervisor_campaign sc ON sc.person_id = p.id LEFT JOIN campaign c ON c.id = sc.campaign_id
           GROUP BY p.id, o.name ORDER BY p.name""")
    return [PersonRow(r["name"], r["role"], r["operator"], r["disabled"], r["locked_until"], tuple(r["campaigns"]),
                      r["extension"]) for r in rows]


async def get(conn: Conn, person_id: int) -> Person | None:
    row = await conn.fetchrow(
        """SELECT p.id, p.name, p.role, p.operator_id, p.disabled, p.extension,
                  array(SELECT campaign_id FROM supervisor_campaign WHERE person_id = p.id) AS campaigns
           FROM person p WHERE p.id = $1""", person_id)
    if row is None:
        return None
    return Person(row["id"], row["name"], row["role"], row["operator_id"], frozenset(row["campaigns"]),
                  row["disabled"], row["extension"])


async def log_in(db: asyncpg.Pool, name: str, password: str, now: datetime) -> Person:
    """The person, or ``LoginRefused``; every outcome is written to ``login_audit`` (committed even when the
    login is refused).

    The password is checked first, holding no connection; then the person's row is locked and read again,
    so guesses made at once are still counted one after another, and a lock set meanwhile refuses."""
    stored = await db.fetchval("SELECT password_hash FROM person WHERE name = $1", name)
    right = await passwords.verify_aside(password, stored or passwords.DECOY)   # an unknown name costs the same
    refusal: str | None = None
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT id, disabled, failed_logins, locked_until, role, operator_id, password_hash
               FROM person WHERE name = $1 FOR UPDATE""", name)
        if row is None:
            await _audit(conn, now, None, "failed", "unknown name")
            refusal = WRONG
        else:
            if row["password_hash"] != stored:     # changed while it was checked: check against the new one
                right = await passwords.verify_aside(password, row["password_hash"])
            refusal = await _check(conn, row, right, now)
    if refusal is not None:
        raise LoginRefused(refusal)
    person = await get(db, row["id"])
    assert person is not None
    return person


async def _check(conn: asyncpg.Connection, row: asyncpg.Record, right: bool, now: datetime) -> str | None:
    person_id = row["id"]
    standing = Standing(row["failed_logins"], row["locked_until"])
    if row["disabled"]:
        await _audit(conn, now, person_id, "refused", "disabled")
        return "this account is disabled; ask a manager"
    if standing.locked(now):
        await _audit(conn, now, person_id, "refused", "locked")
        return f"too many failed logins: try again in {standing.minutes_left(now)} min"
    if not right:
        after = standing.after_failure(now)
        await conn.execute("UPDATE person SET failed_logins = $2, locked_until = $3 WHERE id = $1",
                           person_id, after.failures, after.locked_until)
        if after.locked(now):
            await _audit(conn, now, person_id, "locked", f"{standing.failures + 1} failed logins")
            return f"{WRONG}; too many failed logins: locked for {after.minutes_left(now)} min"
        await _audit(conn, now, person_id, "failed", "wrong password")
        return WRONG
    if row["role"] == "operator" and row["operator_id"] is None:
        await _audit(conn, now, person_id, "refused", "no operator row")
        return "your operator row is gone; ask a manager"
    await conn.execute("UPDATE person SET failed_logins = 0, locked_until = NULL WHERE id = $1", person_id)
    await _audit(conn, now, person_id, "login", None)
    return None


async def log_out(conn: Conn, person: Person, now: datetime, reason: str | None = None) -> None:
    await _audit(conn, now, person.id, "logout", reason)


async def _audit(conn: Conn, now: datetime, person_id: int | None, event: str, reason: str | None) -> None:
    await conn.execute("INSERT INTO login_audit (at, person_id, event, reason) VALUES ($1, $2, $3, $4)",
                       now, person_id, event, reason)
