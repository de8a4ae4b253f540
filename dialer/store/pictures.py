"""The ``engine_picture`` rows: each engine's latest picture of its floor and campaigns (a JSON document,
``dialer/control.py``), announced on a channel that views LISTEN to (``dialer/views/feed.py``). A picture is
for people; the pacer's input at one instant is ``pacing.Snapshot``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

PICTURE_CHANNEL = "dialer_picture"    # NOTIFY: an engine's picture was written (its name)


async def publish(pool: asyncpg.Pool | asyncpg.Connection, *, engine: str, at: datetime, doc: str) -> None:
    """Replace the engine's row with ``doc`` (JSON) and announce it."""
    await pool.execute(
        """INSERT INTO engine_picture (engine, at, doc) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (engine) DO UPDATE SET at = EXCLUDED.at, doc = EXCLUDED.doc;""",
        engine, at, doc)
    await pool.execute("SELECT pg_notify('dialer_picture', $1)", engine)


async def every_engine(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    """Engine name → its latest picture."""
    rows = await pool.fetch("SELECT engine, doc FROM engine_picture")
    return {r["engine"]: _doc(r["doc"]) for r in rows}


async def of_engines(pool: asyncpg.Pool, engines: list[str]) -> dict[str, dict[str, Any]]:
    """The pictures of these engines (one without a row is missing from the answer)."""
    rows = await pool.fetch("SELECT engine, doc FROM engine_picture WHERE engine = ANY($1::text[])", engines)
    return {r["engine"]: _doc(r["doc"]) for r in rows}


def _doc(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)
