"""Migrated schemas for the tests, each in the state of one template migrated once per test run.

Creating a schema and running every migration costs a few hundred milliseconds of catalog work per test;
emptying a schema's rows costs a few. So the migrations run once, into a template schema, and pg_dump
takes its structure and its rows (the migrations' own data, ``schema_version``). A test takes a schema
made from that dump; when it is done the schema is emptied and refilled with the template's rows, and the
next test gets it. A schema whose structure the test changed (its catalog fingerprint differs), or whose
tables grew or were analyzed, is dropped instead, so every test starts from the template's state. Schemas
are dropped at the end of the run.

Without a usable pg_dump (the embedded server ships one; a much newer server refuses it) each test gets a
new schema migrated the ordinary way.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass, field

import asyncpg

from lists import database

FINGERPRINT = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
    SELECT c.relname || ':' || c.relkind::text || ':' || coalesce(a.attname, '') || ':'
           || coalesce(format_type(a.atttypid, a.atttypmod), '') AS x
    FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = $1::regnamespace
    UNION ALL SELECT conname || ':' || contype::text FROM pg_constraint WHERE connamespace = $1::regnamespace
    UNION ALL SELECT proname || ':' || md5(prosrc) FROM pg_proc WHERE pronamespace = $1::regnamespace
    UNION ALL SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              WHERE c.relnamespace = $1::regnamespace) s"""

# A test that filled a table or got it analyzed leaves what a DELETE does not undo: the table's pages and
# the planner's statistics, which can change the next test's plans. Such a schema is dropped, not reused.
GROWN = """
SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = $1)
    OR EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r'
                                          AND pg_relation_size(oid) > 8 * 8192)"""


def _pg_dump(url: str, schema: str, *extra: str) -> str | None:
    from pgserver._commands import POSTGRES_BIN_PATH

    try:
        done = subprocess.run([str(POSTGRES_BIN_PATH / "pg_dump"), "--schema", schema, "--no-owner",
                               "--no-privileges", "--inserts", *extra, url],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


@dataclass
class SchemaStock:
    url: str
    template: str = field(default_factory=lambda: f"t_{uuid.uuid4().hex[:12]}_template")
    structure: str | None = None      # the template's DDL (names qualified with the template's name)
    rows: str | None = None           # the template's rows and sequence positions
    made: bool = False
    free: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)

    async def take(self) -> str:
        """A schema in the template's state, for one test."""
        if self.free:
            return self.free.pop()
        conn = await asyncpg.connect(self.url)
        try:
            if not self.made:
                await self._make_template(conn)
            schema = f"t_{uuid.uuid4().hex[:12]}"
            if self.structure is None:
                await conn.execute(f'CREATE SCHEMA "{schema}"')   # open_pool migrates it
                return schema
            async with conn.transaction():
                await conn.execute(self._as(schema, self.structure))
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute(self._as(schema, self.rows or ""))
            self.fingerprints[schema] = await conn.fetchval(FINGERPRINT, schema)
            return schema
        finally:
            await conn.close()

    async def give_back(self, schema: str) -> None:
        """Empty the schema and refill it with the template's rows for the next test; drop it if the test
        changed its structure or anything goes wrong."""
        conn = await asyncpg.connect(self.url)
        try:
            if (schema in self.fingerprints and await conn.fetchval(FINGERPRINT, schema) == self.fingerprints[schema]
                    and not await conn.fetchval(GROWN, schema)):
                tables = [r["tablename"] for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)]
                async with conn.transaction():
                    # Foreign keys are not checked while every table is emptied and refilled at once.
                    await conn.execute("SET LOCAL session_replication_role = replica")
                    await conn.execute("".join(f'DELETE FROM "{schema}"."{t}";' for t in tables))
                    await conn.execute(self._as(schema, self.rows or ""))
                self.free.append(schema)
                return
        except asyncpg.PostgresError:
            pass
        finally:
            await conn.close()
        await self._drop([schema])

    async def close(self) -> None:
        """Drop every schema of this run and the template."""
        await self._drop([*self.free, *self.fingerprints, self.template] if self.made else [])
        self.free.clear()

    async def _make_template(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f'CREATE SCHEMA "{self.template}"')
        self.made = True
        migrating = await asyncpg.connect(self.url, server_settings={"search_path": self.template})
        try:
            await database.migrate(migrating)
        finally:
            await migrating.close()
        self.structure = _pg_dump(self.url, self.template, "--schema-only")
        self.rows = _pg_dump(self.url, self.template, "--data-only") if self.structure is not None else None
        if self.rows is None:
            self.structure = None

    def _as(self, schema: str, script: str) -> str:
        # pg_dump names every object with its schema; the template's name is unique to this run.
        return script.replace(self.template, schema)

    async def _drop(self, schemas: list[str]) -> None:
        if not schemas:
            return
        for schema in schemas:
            self.fingerprints.pop(schema, None)
        conn = await asyncpg.connect(self.url)
        try:
            for schema in schemas:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
