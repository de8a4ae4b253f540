"""The views' fixtures: a campaign with one operator and one customer on the line, and a way to publish
an engine snapshot exactly as the engine does (upsert + NOTIFY dialer_picture)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

NOW = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
ENGINE = "engine-test"


class FixedClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


@dataclass(frozen=True)
class Scene:
    campaign_id: int
    operator_id: int
    lead_id: int
    attempt_id: int       # the call on the line now
    earlier_attempt_id: int


@pytest.fixture
async def scene(db: asyncpg.Pool) -> Scene:
    campaign_id = await db.fetchval(
        """INSERT INTO campaign (name, channel_template, caller_id, timezone, state)
           VALUES ('winter', 'Local/{phone}@test', '+74950000000', 'Europe/Moscow', 'running') RETURNING id""")
    operator_id = await db.fetchval("INSERT INTO operator (name, extension) VALUES ('Anna', '101') RETURNING id")
    await db.execute("INSERT INTO campaign_operator VALUES ($1, $2)", campaign_id, operator_id)
    lead_id = await db.fetchval(
        """INSERT INTO lead (campaign_id, phone, fields, state)
           VALUES ($1, '+79161234567', $2::jsonb, 'claimed') RETURNING id""",
        campaign_id, json.dumps({"first_name": "Ivan", "city": "Omsk"}))
    earlier = await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, ended_at, outcome,
                                disposition, notes, operator_id)
           VALUES ($1, $2, '+79161234567', '+74950000000', $3, $4, $4, 'answered', 'callback',
                   'asked to call after payday', $5) RETURNING id""",
        lead_id, campaign_id, ENGINE, NOW - timedelta(days=2), operator_id)
    current = await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, state, operator_id)
           VALUES ($1, $2, '+79161234567', '+74950000000', $3, $4, 'connected', $5) RETURNING id""",
        lead_id, campaign_id, ENGINE, NOW, operator_id)
    return Scene(campaign_id, operator_id, lead_id, current, earlier)


def operator_doc(scene: Scene, state: str = "on_call", *, attempt: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "id": scene.operator_id, "name": "Anna", "extension": "101", "state": state, "since_s": 42.0,
        "campaigns": [scene.campaign_id], "attempt_id": scene.attempt_id if attempt else None,
        "lead_id": scene.lead_id if attempt else None, "calls": 14, "talk_s": 2410.0, "occupancy": 0.83,
        **extra,
    }


def campaign_doc(scene: Scene, **extra: Any) -> dict[str, Any]:
    doc = {
        "id": scene.campaign_id, "name": "winter", "mode": "predictive", "effective_mode": "predictive",
        "alpha": 0.025,
        "settings": {"target_abandon": 0.025, "abandon_cap": 0.03, "max_lines_per_operator": 3.0, "ratio": 1.5,
                     "warmup_answers": 30, "safe_harbor_s": 2.0, "window_hours": 24.0},
        "estimates": {"answer_rate": 0.3, "mean_ring_to_answer_s": 10.0, "mean_talk_s": 180.0,
                      "mean_wrap_s": 10.0, "samples": 42, "ring_cdf": [0.0, 0.5, 1.0]},
        "calls": {"originating": 3, "waiting": 1, "handing_off": 0, "connected": 5, "safe_harbor": 0},
        "abandonment": {"window_hours": 24, "answers": 120, "abandons": 2, "rate": 2 / 120, "cap": 0.03,
                        "last_hour": {"answers": 40, "abandons": 1}},
        "totals": {"originated": 300, "answered": 120, "connected": 118, "abandoned": 2},
    }
    doc.update(extra)
    return doc


def snapshot(campaigns: list[dict[str, Any]], operators: list[dict[str, Any]]) -> dict[str, Any]:
    return {"engine": ENGINE, "at": NOW.isoformat(), "campaigns": campaigns, "operators": operators}


async def publish(db: asyncpg.Pool, doc: dict[str, Any]) -> None:
    """What the engine's control plane does each second."""
    await db.execute(
        """INSERT INTO engine_picture (engine, at, doc) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (engine) DO UPDATE SET at = EXCLUDED.at, doc = EXCLUDED.doc""",
        doc["engine"], NOW, json.dumps(doc))
    await db.execute("SELECT pg_notify('dialer_picture', $1)", doc["engine"])


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until the condition holds (a NOTIFY has to travel through the server)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.02)


async def type_into(pilot: Pilot[Any], selector: str, typed: str) -> None:
    """Click into an input and type: the first key through the keyboard, the rest pasted (keeps tests fast)."""
    await pilot.click(selector)
    await pilot.press(typed[0])
    pilot.app.query_one(selector, Input).insert_text_at_cursor(typed[1:])
    await pilot.pause()


async def commands(db: asyncpg.Pool) -> list[tuple[str, dict[str, Any], str]]:
    rows = await db.fetch("SELECT command, args, actor FROM operator_command ORDER BY id")
    return [(r["command"], json.loads(r["args"]), r["actor"]) for r in rows]
