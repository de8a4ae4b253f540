"""The ``engine_picture`` rows: each engine's latest picture of its floor and campaigns (a JSON document,
``dialer/control.py``), announced on a channel that views LISTEN to (``dialer/views/feed.py``). A picture is
for people; the pacer's input at one instant is ``pacing.Snapshot``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from dialer.bus import PICTURE_CHANNEL


async def publish(db: asyncpg.Pool | asyncpg.Connection, *, engine: str, at: datetime, doc: str) -> None:
    """Replace the engine's row with ``doc`` (JSON) and announce it."""
    await db.execute(
        """INSERT INTO engine_picture (engine, at, doc) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (engine) DO UPDATE SET at = EXCLUDED.at, doc = EXCLUDED.doc;""",
        engine, at, doc)
    await db.execute("SELECT pg_notify($1, $2)", PICTURE_CHANNEL, engine)


async def tell_operators(db: asyncpg.Pool, channels: list[str], payloads: list[str]) -> None:
    """Each payload on its channel (an operator's changed entry), in one statement: a burst of changes on a
    floor of thousands costs one round trip."""
    await db.execute("SELECT count(pg_notify(c, p)) FROM unnest($1::text[], $2::text[]) AS t(c, p)",
                       channels, payloads)


async def current_schema(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """The store's schema: named in every operator's payload, since notifications cross schemas."""
    return str(await conn.fetchval("SELECT current_schema()"))


# The whole doc, or the doc with only one operator's entry (an operator's console), picked out by the store.
_WHOLE = "SELECT engine, doc FROM engine_picture WHERE $1::text[] IS NULL OR engine = ANY($1::text[])"
_ONE_OPERATOR = """SELECT engine, doc || jsonb_build_object('operators', jsonb_path_query_array(
                          doc -> 'operators', '$[*] ? (@.id == $me)', jsonb_build_object('me', $2::bigint))) AS doc
                   FROM engine_picture WHERE $1::text[] IS NULL OR engine = ANY($1::text[])"""


async def of_engines(db: asyncpg.Pool, engines: list[str] | None,
                     operator_id: int | None = None) -> dict[str, dict[str, Any]]:
    """Engine name → its latest picture, for these engines (None: every engine; one without a row is missing
    from the answer); with ``operator_id``, each picture holds that operator's entry only."""
    if operator_id is None:
        rows = await db.fetch(_WHOLE, engines)
    else:
        rows = await db.fetch(_ONE_OPERATOR, engines, operator_id)
    return {r["engine"]: _doc(r["doc"]) for r in rows}


def _doc(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
