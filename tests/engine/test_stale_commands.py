"""A console writes its command to the store whether or not an engine runs. A manual dial or an end of call
typed while no engine ran was applied whenever one started, minutes or hours later: the operator, told
"dial sent", had given up on it, and a person was called (or hung up) that nobody expected any more."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.floor import OperatorState
from dialer.store.operator_commands import STALE_COMMAND_S
from dialer.views.feed import send_command
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def test_a_dial_sent_while_no_engine_ran_is_refused_when_one_starts_and_a_fresh_one_dials(
        db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=0)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    operator = next(iter(engine.floor.operators.values()))
    await until(lambda: operator.state is OperatorState.READY)     # back at work after the engine's restart
    typed_at = engine.clock.now() - timedelta(seconds=STALE_COMMAND_S + 60)   # typed while it was down
    stale = await send_command(db, operator_id=operator.id, command="dial", actor="test", now=typed_at,
                               args={"campaign_id": campaign_id, "phone": "+442079460000"})
    kept = await send_command(db, operator_id=operator.id, command="pause", actor="test", now=typed_at,
                              args={"reason": "lunch"})   # a state the person asked for still stands
    plane = ControlPlane(engine, picture_s=None, poll_s=0.05)
    await plane.start()
    try:
        await until(lambda: operator.state is OperatorState.PAUSED)
        row = await db.fetchrow("SELECT done_at, result FROM operator_command WHERE id = $1", stale)
        assert row["done_at"] is not None and "while no engine" in row["result"], row["result"]
        assert pbx.customer_calls() == []
        assert await db.fetchval("SELECT result FROM operator_command WHERE id = $1", kept) is None
        await send_command(db, operator_id=operator.id, command="dial", actor="test", now=engine.clock.now(),
                           args={"campaign_id": campaign_id, "phone": "+442079460000"})
        await until(lambda: len(pbx.customer_calls()) == 1)
    finally:
        await plane.close()
        await engine.stop(drain_s=0)


async def test_commands_are_heard_at_once_again_after_the_stores_connection_was_lost(db: asyncpg.Pool) -> None:
    """Seen by hand with the embedded store killed and started again: the engine went on, but its LISTEN
    connection was dead, so every command waited for the slow poll (1-4 s for a Ready) from then on."""
    await make_campaign(db, operators_n=1, leads_n=0)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    operator = next(iter(engine.floor.operators.values()))
    await until(lambda: operator.state is OperatorState.READY)
    plane = ControlPlane(engine, picture_s=None, poll_s=3600)     # the poll never rescues a command here
    await plane.start()
    try:
        lost = plane.listening_pid()
        await db.execute("SELECT pg_terminate_backend($1)", lost)     # the store restarted, a network cut
        await until(lambda: plane.listening_pid() not in (None, lost))
        await send_command(db, operator_id=operator.id, command="pause", actor="test", now=engine.clock.now(),
                           args={"reason": "lunch"})
        await until(lambda: operator.state is OperatorState.PAUSED)
    finally:
        await plane.close()
        await engine.stop(drain_s=0)
