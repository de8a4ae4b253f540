"""The engine checks who sent a command: a row written as one person for another operator is refused
with the reason, whatever a screen allows (real engine and control plane, in-memory PBX, real store)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from dialer.clock import SystemClock
from dialer.config import EngineConfig
from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.views.feed import send_command
from lists import campaigns, operators
from people import store
from tests.engine.fake_pbx import FakePbx

pytestmark = pytest.mark.db
CONFIG = EngineConfig(tick_s=0.02, operator_channel_template="Local/{ext}@operators")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
async def engine(db: asyncpg.Pool) -> AsyncIterator[Engine]:
    """Campaign c1 with Anna and Boris (no leads: nobody is called), and c2 with nobody."""
    c1 = await campaigns.create(db, name="c1", channel_template="Local/{digits}@pstn", caller_id="+15550000000",
                                mode="progressive")
    await campaigns.create(db, name="c2", channel_template="Local/{digits}@pstn", caller_id="+15550000000")
    anna = await operators.create(db, name="Anna", extension="101")
    boris = await operators.create(db, name="Boris", extension="102")
    await operators.assign(db, campaign_id=c1.id, operator_ids=[anna.id, boris.id])
    for name, role, operator in (("anna", "operator", "Anna"), ("boris", "operator", "Boris"),
                                 ("sofia", "supervisor", None), ("olga", "supervisor", None),
                                 ("max", "manager", None)):
        await store.add(db, name=name, role=role, password="password1", operator=operator, now=NOW)
    await store.supervise(db, "sofia", "c1")
    await store.supervise(db, "olga", "c2")
    await campaigns.set_state(db, "c1", "running", actor="test", now=SystemClock().now())
    engine = Engine(db, FakePbx(), SystemClock(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, picture_s=None, poll_s=0.2)
    await control.start()
    for person, operator in (("anna", "Anna"), ("boris", "Boris")):   # each logs in from their own console
        assert await _sent(db, person, operator, "login", {}) is None
    async with asyncio.timeout(5):
        while {o.state for o in engine.floor.operators.values()} != {OperatorState.READY}:
            await asyncio.sleep(0.02)
    try:
        yield engine
    finally:
        await control.close()
        await engine.stop(drain_s=0)


async def _person(db: asyncpg.Pool, name: str) -> int:
    return int(await db.fetchval("SELECT id FROM person WHERE name = $1", name))


async def _operator(db: asyncpg.Pool, name: str) -> int:
    return int(await db.fetchval("SELECT id FROM operator WHERE name = $1", name))


async def _sent(db: asyncpg.Pool, person: str, operator: str, command: str, args: dict[str, Any]) -> str | None:
    """Write the command row as ``person`` and wait for the engine's answer (None: applied)."""
    command_id = await send_command(db, operator_id=await _operator(db, operator), command=command, args=args,
                                    actor=f"test:{person}", now=SystemClock().now(),   # the engine's clock
                                    person_id=await _person(db, person))
    async with asyncio.timeout(5):
        while (row := await db.fetchrow("SELECT done_at, result FROM operator_command WHERE id = $1",
                                          command_id))["done_at"] is None:
            await asyncio.sleep(0.02)
    return row["result"]


def _state(engine: Engine, name: str) -> OperatorState:
    return next(o.state for o in engine.floor.operators.values() if o.name == name)


async def test_a_command_forged_for_another_operator_is_refused_and_changes_nothing(
        db: asyncpg.Pool, engine: Engine) -> None:
    assert _state(engine, "Boris") is OperatorState.READY
    refused = await _sent(db, "anna", "Boris", "pause", {"reason": "forged"})
    assert refused == "anna may act only as their own operator"
    assert _state(engine, "Boris") is OperatorState.READY
    assert await _sent(db, "anna", "Anna", "pause", {"reason": "lunch"}) is None
    assert _state(engine, "Anna") is OperatorState.PAUSED
    actors = [r["actor"] for r in await db.fetch("SELECT actor FROM operator_command ORDER BY id")]
    assert actors == ["test:anna", "test:boris", "test:anna", "test:anna"]     # the two logins, then these


async def test_an_operator_cannot_dispose_of_another_operators_call(db: asyncpg.Pool, engine: Engine) -> None:
    lead = await db.fetchval(
        "INSERT INTO lead (campaign_id, phone, timezone) SELECT id, '+15550001234', 'UTC' FROM campaign "
        "WHERE name = 'c1' RETURNING id")
    attempt = await db.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, operator_id)
           SELECT $1, campaign_id, phone, '+15550000000', 'other', $2, $3 FROM lead WHERE id = $1 RETURNING id""",
        lead, NOW, await _operator(db, "Boris"))
    refused = await _sent(db, "anna", "Anna", "disposition", {"attempt_id": attempt, "code": "sale"})
    assert refused is not None and "belongs to another operator" in refused
    assert await db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt) is None


async def test_a_supervisor_pauses_only_in_their_campaigns_and_a_manager_anywhere(
        db: asyncpg.Pool, engine: Engine) -> None:
    refused = await _sent(db, "olga", "Anna", "pause", {"reason": "supervisor"})
    assert refused == "olga supervises none of this operator's campaigns"
    assert await _sent(db, "sofia", "Anna", "pause", {"reason": "supervisor"}) is None
    assert _state(engine, "Anna") is OperatorState.PAUSED
    assert "may not dial" in str(await _sent(db, "sofia", "Boris", "dial",
                                             {"phone": "+15550009999", "campaign_id": 1}))
    assert await _sent(db, "max", "Boris", "pause", {"reason": "meeting"}) is None
    await store.disable(db, "max")
    assert await _sent(db, "max", "Boris", "ready", {}) == "max's account is disabled"
    assert _state(engine, "Boris") is OperatorState.PAUSED
    assert json.loads(await db.fetchval("SELECT args FROM operator_command WHERE person_id = $1 ORDER BY id LIMIT 1",
                                          await _person(db, "max"))) == {"reason": "meeting"}


async def test_a_supervisor_listens_only_from_their_own_phone(db: asyncpg.Pool, engine: Engine) -> None:
    """A listen rings the extension the command names: another one would let whoever answers it hear the call."""
    await store.set_extension(db, "sofia", "200")
    refused = await _sent(db, "sofia", "Anna", "spy", {"supervisor_extension": "201", "mode": "listen"})
    assert refused == "sofia listens only from their own phone (`dialer users add … --extension`)"
    assert await _sent(db, "sofia", "Anna", "spy", {"supervisor_extension": "200", "mode": "listen"}) is None
    rung = [r.channel for r in engine.pbx.originated if r.application == "ChanSpy"]   # type: ignore[attr-defined]
    assert rung == ["Local/200@operators"]
