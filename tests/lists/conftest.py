"""Fixtures of the call-list tests: a campaign row and an acquired connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

MORNING = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 10:00 in Moscow


@pytest.fixture
async def conn(db: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with db.acquire() as connection:
        yield connection


async def make_campaign(conn: asyncpg.Connection, name: str = "spring", *, timezone: str = "Europe/Moscow",
                        region: str = "RU") -> int:
    return await conn.fetchval(
        """INSERT INTO campaign (name, channel_template, caller_id, timezone, default_region)
           VALUES ($1, 'Local/{phone}@test', '+74950000000', $2, $3) RETURNING id""",
        name, timezone, region,
    )


@pytest.fixture
async def campaign_id(conn: asyncpg.Connection) -> int:
    return await make_campaign(conn)


async def add_leads(conn: asyncpg.Connection, campaign_id: int, phones: list[str], *, category: str = "cold",
                    due: datetime | None = None, timezone: str = "Europe/Moscow") -> list[int]:
    rows = await conn.fetch(
        """INSERT INTO lead (campaign_id, phone, category, next_due_at, timezone, timezone_set)
           SELECT $1, p, $3, $4, $5, NULL FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n
           RETURNING id""",
        campaign_id, phones, category, due or datetime(2000, 1, 1, tzinfo=UTC), timezone,
    )
    return [r["id"] for r in rows]
