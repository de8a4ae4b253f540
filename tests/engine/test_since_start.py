"""The engine's "since start" totals (``dialer watch``, metrics) stay a funnel: a call is counted connected or
abandoned only when its answer was counted by this engine too, so connected never exceeds answered — after
a restart that finds a call already answered, or with calls the operators dialed by hand."""

from __future__ import annotations

import asyncpg
import pytest

from ami.pbx import ChannelHungUp, ConferenceJoined, OriginateResult
from dialer.call import channel_id_of
from dialer.commands import apply_command
from dialer.engine import Engine
from dialer.floor import OperatorState
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until
from tests.engine.test_recovery_truth import left_connected

pytestmark = pytest.mark.db


def funnel_holds(totals: dict[str, int]) -> bool:
    return totals["connected"] + totals["abandoned"] <= totals["answered"]


async def test_a_call_answered_before_a_restart_does_not_make_connected_exceed_answered(db: asyncpg.Pool) -> None:
    """The killed engine answered the call, wrote it and Redirected it to the operator; the new one finds it
    in the operator's conference: "since start: answered 0, connected 1" on the supervisor's screen."""
    campaign_id = await make_campaign(db, operators_n=1, leads_n=2)
    await db.execute("UPDATE lead SET next_due_at = now() + interval '1 day'")   # nothing new to dial
    operator_id = await db.fetchval("SELECT id FROM operator")
    _, attempt = await left_connected(db, campaign_id, connected=False, operator_id=operator_id)
    pbx = FakePbx()
    pbx.live |= {channel_id_of(attempt), "op101-4", "op101-4-2"}
    pbx.where[channel_id_of(attempt)] = ("Up", "operator-join", "101")
    pbx.where["op101-4-2"] = ("Up", "operators", "101")
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        await until(lambda: engine.floor.operators[operator_id].state is OperatorState.ON_CALL)
        totals = engine.campaign_totals(campaign_id)
        assert funnel_holds(totals), totals
    finally:
        await engine.stop(drain_s=0)


async def test_calls_dialed_by_hand_do_not_make_connected_exceed_answered(db: asyncpg.Pool) -> None:
    campaign_id = await make_campaign(db, operators_n=1, leads_n=0)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        operator = next(iter(engine.floor.operators.values()))
        await until(lambda: operator.state is OperatorState.READY)
        assert await apply_command(engine, operator.id, "dial", {"campaign_id": campaign_id,
                                                                 "phone": "+442079460000"}) is None
        request = pbx.customer_calls()[-1]
        pbx.emit(OriginateResult(request.channel_id, True, 4))
        pbx.emit(ConferenceJoined("op101", request.channel_id))
        await until(lambda: operator.state is OperatorState.ON_CALL)
        pbx.emit(ChannelHungUp(request.channel_id, 16))
        await until(lambda: operator.state is OperatorState.WRAP_UP)
        totals = engine.campaign_totals(campaign_id)
        assert funnel_holds(totals), totals
    finally:
        await engine.stop(drain_s=0)
