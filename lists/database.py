"""Where the store lives and how it is brought to the current schema.

The store is PostgreSQL and nothing else. With no URL given, an embedded server (pgserver) runs in the
user's data directory, so a new user needs nothing installed. Its data stays there between commands, but
the server itself stops when the last command using it exits: no postgres keeps running behind a user's back.

Migrations are numbered plain-SQL files applied in order at start, each in its own transaction, recorded in
``schema_version``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg

MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The store cannot be reached or brought up to date; the message says what to check."""


@dataclass(frozen=True)
class StoreLocation:
    url: str
    embedded: bool
    data_dir: Path | None
    server: Any = field(default=None, repr=False, compare=False)   # the pgserver handle, when embedded

    def describe(self) -> str:
        if self.embedded:
            return f"embedded PostgreSQL in {self.data_dir}"
        return f"PostgreSQL at {redact(self.url)}"

    def release(self) -> None:
        """This process is done with the embedded server: it stops if no other process uses it.
        pgserver also does this at exit; calling it earlier lets a caller remove the data directory."""
        if self.server is not None:
            self.server.cleanup()


def redact(url: str) -> str:
    """The password never reaches a log or an error message."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def locate(database_url: str | None, data_dir: Path) -> StoreLocation:
    """Given URL, or start (or reuse) the embedded server in ``data_dir/pg``."""
    if database_url:
        return StoreLocation(database_url, embedded=False, data_dir=None)
    import pgserver  # imported lazily: a user with a URL never needs the embedded binaries

    pg_dir = data_dir / "pg"
    pg_dir.mkdir(parents=True, exist_ok=True)
    try:
        _forget_dead_users(pg_dir)
        # "stop": the server stops when the last process using it exits; the data directory stays.
        server = pgserver.get_server(pg_dir, cleanup_mode="stop")
    except Exception as exc:  # pgserver raises plain exceptions with its log inside
        raise StoreError(f"could not start the embedded PostgreSQL in {pg_dir}: {exc}") from exc
    return StoreLocation(server.get_uri(), embedded=True, data_dir=pg_dir, server=server)


def _forget_dead_users(pg_dir: Path) -> None:
    """pgserver lists the processes using a server in ``.handle_pids.json`` and stops the server when the
    last of them exits. A process killed with SIGKILL never takes itself off that list, and the server
    would then never stop: drop the processes that no longer run before adding this one."""
    import psutil
    from pgserver.postgres_server import PostgresServer

    users = pg_dir / ".handle_pids.json"
    with PostgresServer._lock:
        if not users.exists():
            return
        try:
            pids = json.loads(users.read_text())
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            users.write_text(json.dumps(alive))


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("lists.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply what is missing; returns the schema version. Safe to run from several engines at once."""
    shipped = migrations()
    if {v for v, _, _ in shipped} <= await _applied(conn):
        # Up to date: no lock. The lock is one per database, so waiting on it would make every start
        # wait for whoever migrates another schema of the same database.
        return await schema_version(conn)
    await conn.execute("SELECT pg_advisory_lock(727001)")  # one migrator at a time
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_version (
                   version integer PRIMARY KEY, name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_version")}
        for version, name, sql in shipped:
            if version in applied:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES ($1, $2)", version, name
                )
        return await schema_version(conn)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(727001)")


async def _applied(conn: asyncpg.Connection) -> set[int]:
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return set()
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_version")}


async def schema_version(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")


async def recreate_schema(conn: asyncpg.Connection, schema: str) -> None:
    """An empty schema of that name (whatever it held is dropped): ``dialer demo``'s own, each run."""
    if not schema.isidentifier():
        raise ValueError(f"demo schema {schema!r} must be a plain identifier")
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")


async def open_db(
    url: str, *, search_path: str | None = None, min_size: int = 1, max_size: int = 10,
    connection_class: type[asyncpg.Connection] = asyncpg.Connection, durable: bool = True,
    timers: bool = True,
) -> asyncpg.Pool:
    """A pool on the migrated store. ``search_path`` lets tests give each test its own schema;
    ``connection_class`` lets the virtual-time demo hold its clock during queries; ``durable=False``
    (demo only) skips waiting for the disk at commit, as a throw-away day needs no crash safety.
    ``timers=False`` (``dialer serve``'s workers) keeps prepared statements and idle connections without
    asyncpg's expiry timers: such a timer is scheduled in the context of whoever ran the query or released
    the connection, and in a worker that is a browser session's app, which it would keep alive for five
    minutes after the session closed (hundreds of closed consoles at the end of a shift)."""
    settings = {"search_path": search_path} if search_path else {}
    settings["application_name"] = "dialer"
    if not durable:
        settings["synchronous_commit"] = "off"
    try:
        db = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, server_settings=settings,
            connection_class=connection_class,
            **({} if timers else {"max_cached_statement_lifetime": 0, "max_inactive_connection_lifetime": 0}),
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise StoreError(f"cannot connect to {redact(url)}: {exc}") from exc
    except (asyncpg.ClientConfigurationError, ValueError) as exc:   # asyncpg's DSN parser: a bad scheme, port…
        why = " ".join(str(exc).split())
        raise StoreError(f"store URL {redact(url)!r} is not a PostgreSQL URL ({why}); write it as "
                         "postgresql://user@host:5432/database (DIALER_DATABASE_URL)") from None
    async with db.acquire() as conn:
        await migrate(conn)
    return db
