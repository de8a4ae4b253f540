"""The supervisor's abandonment figures (last hour, today, the legal window) count an answer as soon as its
fate is known — put through to an operator, sent to the safe-harbor message, or hung up while waiting —
not when the conversation ends: with three answers on the floor, ``dialer watch`` read "0/0" beside
"answered 3" while two conversations went on."""

from __future__ import annotations

import asyncpg
import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined
from dialer.control import picture_doc
from dialer.engine import Engine
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


def figures(engine: Engine) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], dict[str, int]]:
    [doc] = picture_doc(engine)["campaigns"]
    ab = doc["abandonment"]
    return ((ab["last_hour"]["answers"], ab["last_hour"]["abandons"]),
            (ab["today"]["answers"], ab["today"]["abandons"]),
            (ab["answers"], ab["abandons"]), doc["totals"])


async def test_answers_in_conversation_and_callers_who_hung_up_waiting_are_counted_at_once(
        db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=2, leads_n=10, mode="ratio")
    await db.execute("UPDATE campaign SET pacing = '{\"ratio\": 2.0}', safe_harbor_s = 30")
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 3)
        first, second, third = pbx.customer_calls()[:3]
        for request in (first, second):
            pbx.emit(CallAnswered(request.channel_id))
        await until(lambda: len(pbx.redirects) >= 2)
        for channel, _, extension in pbx.redirects[:2]:
            pbx.emit(ConferenceJoined(f"op{extension}", channel))
        pbx.emit(CallAnswered(third.channel_id))        # no operator is free: it waits ...
        pbx.emit(ChannelHungUp(third.channel_id, 16))   # ... and the caller hangs up
        await until(lambda: third.channel_id not in engine.calls)
        last_hour, today, window, totals = figures(engine)
        # two conversations going on, one caller lost while waiting
        assert last_hour == today == window == (3, 1), (last_hour, today, window)
        assert (totals["answered"], totals["connected"], totals["abandoned"]) == (3, 2, 1), totals
        pbx.emit(ChannelHungUp(first.channel_id, 16))    # a conversation ends: counted once, not twice
        await until(lambda: first.channel_id not in engine.calls)
        assert figures(engine)[2] == (3, 1)
    finally:
        await engine.stop(drain_s=0)


async def test_a_pause_and_start_keeps_the_answers_of_calls_still_in_conversation(db: asyncpg.Pool) -> None:
    """Found pausing and starting a campaign from the watch view: a campaign started again reloads its ledger
    from the ended attempts, so a conversation counted at its hand-off was nowhere, and never added again."""
    from lists import campaigns
    await make_campaign(db, operators_n=1, leads_n=3)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: len(pbx.customer_calls()) >= 1)
        first = pbx.customer_calls()[0]
        pbx.emit(CallAnswered(first.channel_id))
        await until(lambda: bool(pbx.redirects))
        pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", first.channel_id))
        await until(lambda: figures(engine)[2] == (1, 0))
        campaign = await campaigns.get(db, "c1")
        await engine.pause_campaign(campaign.id)
        await engine.run_campaign(campaign)
        assert figures(engine)[2] == (1, 0)
        pbx.emit(ChannelHungUp(first.channel_id, 16))
        await until(lambda: first.channel_id not in engine.calls)
        assert figures(engine)[2] == (1, 0)
    finally:
        await engine.stop(drain_s=0)
