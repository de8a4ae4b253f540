"""No background task dies silently: a failure is logged with its traceback and the task runs again; a task
that cannot run stops the engine with the reason."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np
import pytest

from dialer import control
from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.tasks import BackgroundTasks, Supervisor
from dialer.views.feed import send_command
from lists import campaigns
from pacing.estimators import HandleTimes
from pacing.snapshot import Estimates
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday


def test_the_settled_handle_law_is_a_plain_bool_a_json_document_can_carry() -> None:
    handle = HandleTimes(Estimates())
    settled = handle.settled((400.0,), 100.0)
    assert type(settled) is bool
    json.dumps({"handle_settled": settled})


async def test_a_loop_that_raises_is_logged_with_its_traceback_and_started_again(
        caplog: pytest.LogCaptureFixture) -> None:
    runs = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError(f"boom {runs}")
        done.set()

    tasks = BackgroundTasks(Supervisor(backoff=(0.01, 0.02)))
    tasks.keep(flaky, "flaky")
    async with asyncio.timeout(5):
        await done.wait()
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "flaky" in r.getMessage()]
    assert len(failures) == 2
    assert all(r.exc_info and "boom" in str(r.exc_info[1]) for r in failures)
    assert tasks.supervisor.failure is None


async def test_a_loop_that_keeps_failing_stops_the_engine_with_the_reason() -> None:
    async def broken() -> None:
        raise ValueError("cannot work")

    supervisor = Supervisor(backoff=(0.01, 0.01), give_up_after=3)
    supervisor.tasks().keep(broken, "broken")
    async with asyncio.timeout(5):
        reason = await supervisor.failed()
    assert "broken" in reason and "cannot work" in reason and "3 times" in reason


async def test_a_critical_loop_stops_the_engine_at_its_first_failure() -> None:
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1
        raise ValueError("no")

    supervisor = Supervisor(backoff=(0.01, 0.01))
    supervisor.tasks().keep(once, "vital", critical=True)
    async with asyncio.timeout(5):
        await supervisor.failed()
    assert runs == 1


@pytest.mark.db
async def test_the_views_snapshot_survives_a_numpy_scalar_in_the_document(
        db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    real = control.picture_doc

    def with_numpy(engine: Engine, **kwargs: bool) -> dict[str, Any]:
        doc = real(engine, **kwargs)
        doc["numpy"] = {"flag": np.bool_(True), "count": np.int64(3), "rate": np.float64(0.5)}
        return doc

    monkeypatch.setattr(control, "picture_doc", with_numpy)
    await make_campaign(db, operators_n=1, leads_n=0)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    plane = ControlPlane(engine, picture_s=0.02)
    await plane.start()
    try:
        async with asyncio.timeout(5):
            while (doc := await db.fetchval("SELECT doc FROM engine_picture")) is None:
                await asyncio.sleep(0.02)
        assert json.loads(doc)["numpy"] == {"flag": True, "count": 3, "rate": 0.5}
    finally:
        await plane.close()
        await engine.stop(drain_s=0)


@pytest.mark.db
async def test_a_publisher_that_fails_is_logged_and_publishes_again(
        db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real = control.picture_doc
    failed = 0

    def fails_once(engine: Engine, **kwargs: bool) -> dict[str, Any]:
        nonlocal failed
        if not failed:
            failed += 1
            raise TypeError("Object of type bool is not JSON serializable")
        return real(engine, **kwargs)

    monkeypatch.setattr(control, "picture_doc", fails_once)
    await make_campaign(db, operators_n=1, leads_n=0)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    plane = ControlPlane(engine, picture_s=0.02)
    await plane.start()
    try:
        async with asyncio.timeout(5):
            while await db.fetchval("SELECT doc FROM engine_picture") is None:
                await asyncio.sleep(0.02)
        logged = [r for r in caplog.records if r.levelno == logging.ERROR and "control-publish" in r.getMessage()]
        assert logged and logged[0].exc_info is not None
    finally:
        await plane.close()
        await engine.stop(drain_s=0)




@pytest.mark.db
async def test_a_command_that_cannot_be_applied_is_answered_and_the_next_one_applies(db: asyncpg.Pool) -> None:
    """A disposition the campaign does not know must not jam the command queue (nor stop the engine by
    failing again at every retry): it is answered with the reason, and the commands after it apply."""
    campaign_id = await make_campaign(db, operators_n=1, leads_n=1)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    plane = ControlPlane(engine, picture_s=None, poll_s=0.05)
    await plane.start()
    try:
        operator = next(iter(engine.floor.operators.values()))
        async with asyncio.timeout(5):
            while operator.state is not OperatorState.READY:
                await asyncio.sleep(0.01)
        lead_id = await db.fetchval("SELECT id FROM lead")
        attempt_id = await db.fetchval(
            "INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, state, claimed_at) "
            "VALUES ($1, $2, '+15550000000', '+15550000000', 'e1', 'connected', now()) RETURNING id",
            lead_id, campaign_id)
        now = engine.clock.now()
        bad = await send_command(db, operator_id=operator.id, command="disposition",
                                 args={"attempt_id": attempt_id, "code": "vanished"}, actor="test", now=now)
        await send_command(db, operator_id=operator.id, command="pause", args={"reason": "lunch"}, actor="test",
                           now=now)
        async with asyncio.timeout(5):
            while operator.state is not OperatorState.PAUSED:
                await asyncio.sleep(0.01)
        row = await db.fetchrow("SELECT done_at, result FROM operator_command WHERE id = $1", bad)
        assert row["done_at"] is not None and "vanished" in row["result"]
        assert engine.supervisor.failure is None
    finally:
        await plane.close()
        await engine.stop(drain_s=0)


@pytest.mark.db
async def test_a_campaign_that_cannot_start_is_logged_once_and_the_others_run(
        db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    real = Engine.run_campaign

    async def refuses_bad(self: Engine, campaign: campaigns.Campaign) -> None:
        if campaign.name == "bad":
            raise ValueError("pacing setting ratio must be a number")
        await real(self, campaign)

    monkeypatch.setattr(Engine, "run_campaign", refuses_bad)
    plane = ControlPlane(engine, picture_s=None, poll_s=0.02)
    await plane.start()
    try:
        for name in ("bad", "good"):
            await campaigns.create(db, name=name, channel_template="Local/{digits}@pstn", caller_id="+15550000000")
            await campaigns.set_state(db, name, "running", actor="test", now=datetime.now(UTC))
        good = await campaigns.get(db, "good")
        async with asyncio.timeout(5):
            while good.id not in engine.runners:
                await asyncio.sleep(0.01)
        for _ in range(5):                 # several more polls: the bad one is not logged again
            await plane.sync_campaigns()
        logged = [r for r in caplog.records if r.levelno == logging.ERROR and "campaign bad" in r.getMessage()]
        assert len(logged) == 1 and "ratio must be a number" in str(logged[0].exc_info[1])
        assert engine.supervisor.failure is None
    finally:
        await plane.close()
        await engine.stop(drain_s=0)
