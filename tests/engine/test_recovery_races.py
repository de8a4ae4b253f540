"""A Status answer is a picture of one moment, applied a little later: what happens in between (events in
the same read, calls placed on the new link) must neither be lost nor be judged by the older picture."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ChannelStatus, LinkUp, OriginateResult, PbxEvent
from dialer.call import CallState, channel_id_of
from dialer.engine import Engine
from dialer.floor import OperatorState
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until
from tests.engine.test_recovery import left_open

pytestmark = pytest.mark.db


class LateAnswerPbx(FakePbx):
    """Answers Status with the picture of the moment it is asked, then — before the asker reads it —
    plays the events queued in ``then`` and lets ``delay_s`` pass (a loaded machine, a slow link)."""

    def __init__(self) -> None:
        super().__init__()
        self.then: list[PbxEvent] = []
        self.delay_s = 0.0

    async def status(self, variables: Sequence[str] = ("ATTEMPT_ID",)) -> list[ChannelStatus]:
        rows = await super().status(variables)
        events, self.then = self.then, []
        for event in events:
            self.emit(event)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return rows


async def test_a_call_answered_just_after_the_restarts_status_answer_is_handed_off(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")   # nothing new to dial
    _, [attempt] = await left_open(db, campaign_id, 1)
    channel = channel_id_of(attempt)
    pbx = LateAnswerPbx()
    pbx.live.add(channel)                               # ringing in the picture ...
    pbx.then = [CallAnswered(channel)]                  # ... answered right after it
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: (channel, "operator-join", "101") in pbx.redirects)
        await engine.recorder.drain()
        assert await db.fetchval("SELECT answered_at FROM attempt WHERE id = $1", attempt) is not None
    finally:
        await engine.stop(drain_s=0)


async def test_a_connected_call_hanging_up_just_after_the_restarts_status_answer_ends_connected(
        db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    _, [attempt] = await left_open(db, campaign_id, 1, answered=True)
    channel = channel_id_of(attempt)
    pbx = LateAnswerPbx()
    pbx.live.add(channel)
    pbx.where[channel] = ("Up", "operator-join", "101")  # with the operator in the picture ...
    pbx.then = [ChannelHungUp(channel, 16)]              # ... gone right after it
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        [operator] = engine.floor.operators.values()
        await until(lambda: operator.state is OperatorState.WRAP_UP)
        assert channel not in engine.calls
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, ended_at FROM attempt WHERE id = $1", attempt)
        assert row["outcome"] == "connected" and row["ended_at"] is not None
    finally:
        await engine.stop(drain_s=0)


async def test_a_call_placed_after_the_link_came_back_is_not_ended_by_a_status_answer_that_predates_it(
        db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=1, leads_n=1)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")   # nothing to dial yet
    pbx = LateAnswerPbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        pbx.delay_s = 0.5                      # the Status answer (no channel in it) takes its time ...
        pbx.emit(LinkUp())
        await db.execute("UPDATE lead SET next_due_at = '2026-11-20T12:00:00Z'")   # due (the clock says Nov 25)
        await until(lambda: len(pbx.customer_calls()) == 1)   # ... while the engine dials on the new link
        channel = pbx.customer_calls()[0].channel_id
        await asyncio.sleep(0.7)               # the answer has been read
        assert engine.calls[channel].state is CallState.ORIGINATING
    finally:
        await engine.stop(drain_s=0)


async def test_a_call_found_at_the_message_after_a_reconnect_is_on_record_as_answered(db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=1, leads_n=1)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) == 1)
        channel = pbx.customer_calls()[0].channel_id
        pbx.where[channel] = ("Up", "dialer-safeharbor", "s")   # answered and given up on while the link was down
        pbx.emit(LinkUp())
        await until(lambda: engine.stats.abandoned == 1)
        pbx.emit(ChannelHungUp(channel, 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, abandoned, answered_at FROM attempt")
        assert (row["outcome"], row["abandoned"]) == ("abandoned", True) and row["answered_at"] is not None
        [runner] = engine.runners.values()
        assert runner.ledger.counts(asyncio.get_running_loop().time()) == (1, 1)   # as the store counts it
    finally:
        await engine.stop(drain_s=0)


async def test_calls_taken_over_for_a_campaign_that_fails_to_start_here_are_still_followed(
        db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        [runner] = engine.runners.values()
        campaign = runner.campaign
        await engine.pause_campaign(campaign_id)
        _, [attempt] = await left_open(db, campaign_id, 1, engine="engine-dead")
        channel = channel_id_of(attempt)
        pbx.live.add(channel)
        await engine.recovery.recover("engine-dead", campaign_id)    # re-attached, waiting for its campaign

        async def store_gone(*args: object, **kwargs: object) -> None:
            raise ConnectionRefusedError("store gone")
        monkeypatch.setattr("dialer.engine.operators.for_campaign", store_gone)
        with pytest.raises(ConnectionRefusedError):
            await engine.run_campaign(campaign)                       # ... which fails to start here
        pbx.emit(OriginateResult(channel, False, 5))                  # the call ends busy: heard, not held
        await engine.recorder.drain()
        assert await db.fetchval("SELECT outcome FROM attempt WHERE id = $1", attempt) == "busy"
    finally:
        await engine.stop(drain_s=0)
