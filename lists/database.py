"""Where the store lives and how it is brought to the current schema.

The store is PostgreSQL and nothing else. With no URL given, an embedded server (pgserver) runs in the
user's data directory, so a new user needs nothing installed. Migrations are numbered plain-SQL files
applied in order at start, each in its own transaction, recorded in ``schema_version``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The store cannot be reached or brought up to date; the message says what to check."""


@dataclass(frozen=True)
class StoreLocation:
    url: str
    embedded: bool
    data_dir: Path | None

    def describe(self) -> str:
        if self.embedded:
            return f"embedded PostgreSQL in {self.data_dir}"
        return f"PostgreSQL at {redact(self.url)}"


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
        server = pgserver.get_server(pg_dir, cleanup_mode=None)
    except Exception as exc:  # pgserver raises plain exceptions with its log inside
        raise StoreError(f"could not start the embedded PostgreSQL in {pg_dir}: {exc}") from exc
    return StoreLocation(server.get_uri(), embedded=True, data_dir=pg_dir)


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
    await conn.execute("SELECT pg_advisory_lock(727001)")  # one migrator at a time
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_version (
                   version integer PRIMARY KEY, name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_version")}
        for version, name, sql in migrations():
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


async def schema_version(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")


async def open_pool(
    url: str, *, search_path: str | None = None, min_size: int = 1, max_size: int = 10,
    connection_class: type[asyncpg.Connection] = asyncpg.Connection, durable: bool = True,
) -> asyncpg.Pool:
    """A pool on the migrated store. ``search_path`` lets tests give each test its own schema;
    ``connection_class`` lets the virtual-time demo hold its clock during queries; ``durable=False``
    (demo only) skips waiting for the disk at commit, as a throw-away day needs no crash safety."""
    settings = {"search_path": search_path} if search_path else {}
    settings["application_name"] = "dialer"
    if not durable:
        settings["synchronous_commit"] = "off"
    try:
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, server_settings=settings,
            connection_class=connection_class,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise StoreError(f"cannot connect to {redact(url)}: {exc}") from exc
    async with pool.acquire() as conn:
        await migrate(conn)
    return pool
