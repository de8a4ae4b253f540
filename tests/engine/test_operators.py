"""Operators as the engine serves them: manual dialing, supervisors' spying, wrap-up limits, and simulated
operators working beside people at the console."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined, OriginateRequest, OriginateResult
from compliance import store as compliance_store
from compliance.rules import CampaignRules
from dialer.commands import apply_command
from dialer.engine import Engine
from dialer.floor import FloorOperator, OperatorState
from dialer.sim.operators import SimulatedOperators
from lists import campaigns
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def started(db: asyncpg.Pool, **kwargs: int) -> tuple[Engine, FakePbx]:
    await make_campaign(db, **kwargs)
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    return engine, pbx


async def dialed_by_hand(engine: Engine, pbx: FakePbx, phone: str) -> tuple[FloorOperator, OriginateRequest]:
    """The campaign's one operator, ready, dials ``phone`` from the console; the Originate it made."""
    operator = next(iter(engine.floor.operators.values()))
    await until(lambda: operator.state is OperatorState.READY)
    assert await apply_command(engine, operator.id, "dial", {"campaign_id": next(iter(operator.campaigns)),
                                                             "phone": phone}) is None
    return operator, pbx.customer_calls()[-1]


async def test_manual_dial_calls_the_number_into_the_operators_conference_with_the_campaign_caller_id(
        db: asyncpg.Pool) -> None:
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator, request = await dialed_by_hand(engine, pbx, "+442079460000")
        assert (request.context, request.exten, request.caller_id) == ("operator-join", "101", "+15550000000")
        assert operator.state is OperatorState.RESERVED
        pbx.emit(ConferenceJoined("op101", request.channel_id))   # joined before its OriginateResponse
        pbx.emit(OriginateResult(request.channel_id, True, 4))
        assert operator.state is OperatorState.ON_CALL
        pbx.emit(ChannelHungUp(request.channel_id, 16))
        await engine.recorder.drain()
        row = await db.fetchrow("SELECT outcome, operator_id, recording FROM attempt")
        assert (row["outcome"], row["operator_id"]) == ("connected", operator.id)
        assert row["recording"].endswith(".wav")
    finally:
        await engine.stop(drain_s=0)


@pytest.mark.parametrize("reason", [5, 3, 8])   # busy, no answer, congestion: never answered
async def test_a_manual_call_never_answered_gives_the_operator_back(db: asyncpg.Pool, reason: int) -> None:
    """The operator stayed RESERVED ("CONNECTING" on the console) for good: the call, never answered, had
    no operator_id, so its end found nobody to release."""
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator, request = await dialed_by_hand(engine, pbx, "+442079460000")
        assert operator.state is OperatorState.RESERVED
        pbx.emit(OriginateResult(request.channel_id, False, reason))
        await until(lambda: operator.state is OperatorState.READY)
        assert operator.attempt_id is None and operator.lead_id is None
        await dialed_by_hand(engine, pbx, "+442079460001")                                     # dials again
    finally:
        await engine.stop(drain_s=0)


async def test_refusals_name_the_operators_state_in_words(db: asyncpg.Pool) -> None:
    """The console showed "pause refused: cannot pause while logged_out; finish the call first" to an
    operator with no call, logged out, and "cannot dial while wrap_up"."""
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator, request = await dialed_by_hand(engine, pbx, "+442079460000")
        campaign = {"campaign_id": next(iter(operator.campaigns)), "phone": "+442079460001"}
        assert await apply_command(engine, operator.id, "pause", {}) == "cannot pause during a call; finish it first"
        assert await apply_command(engine, operator.id, "dial", campaign) == \
            "cannot dial during a call; finish it first"
        pbx.emit(OriginateResult(request.channel_id, True, 4))
        pbx.emit(ConferenceJoined("op101", request.channel_id))
        pbx.emit(ChannelHungUp(request.channel_id, 16))
        await until(lambda: operator.state is OperatorState.WRAP_UP)
        assert await apply_command(engine, operator.id, "dial", campaign) == \
            "cannot dial in wrap-up: save the disposition first"
        assert await apply_command(engine, operator.id, "disposition", {"attempt_id": operator.attempt_id,
                                                                        "code": "sale"}) is None
        assert await apply_command(engine, operator.id, "logout", {}) is None
        await until(lambda: operator.state is OperatorState.OFFLINE)
        assert await apply_command(engine, operator.id, "pause", {}) == "log in first"
        assert await apply_command(engine, operator.id, "dial", campaign) == "log in first"
    finally:
        await engine.stop(drain_s=0)


async def test_whisper_originates_chanspy_with_qw_to_the_supervisors_phone(db: asyncpg.Pool) -> None:
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator = next(iter(engine.floor.operators.values()))
        assert await apply_command(engine, operator.id, "spy", {"supervisor_extension": "200",
                                                                "mode": "whisper"}) is None
        spy = pbx.originated[-1]
        assert (spy.channel, spy.application, spy.data) == ("Local/200@operators", "ChanSpy",
                                                            "Local/101@operators,qw")
        refused = await apply_command(engine, operator.id, "spy", {"supervisor_extension": "200", "mode": "x"})
        assert refused is not None and "listen" in refused
    finally:
        await engine.stop(drain_s=0)


async def test_a_person_and_a_simulated_operator_work_the_same_campaign(db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=2, leads_n=5, simulated=False)
    await db.execute("UPDATE operator SET simulated = true WHERE extension = '102'")
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    SimulatedOperators(engine, mean_wrap_s=0.0)
    await engine.start()
    try:
        person = next(o for o in engine.floor.operators.values() if o.extension == "101")
        assert await apply_command(engine, person.id, "login", {}) is None   # a person logs in at the console
        await until(lambda: len(pbx.customer_calls()) >= 2)
        for request in pbx.customer_calls()[:2]:
            pbx.emit(CallAnswered(request.channel_id))
        await until(lambda: len(pbx.redirects) >= 2)
        for channel_id, _, extension in pbx.redirects[:2]:
            pbx.emit(ConferenceJoined(f"op{extension}", channel_id))
            pbx.emit(ChannelHungUp(channel_id, 16))
        person, robot = (next(o for o in engine.floor.operators.values() if o.extension == ext)
                         for ext in ("101", "102"))
        await until(lambda: robot.state is not OperatorState.WRAP_UP)
        assert person.state is OperatorState.WRAP_UP        # waits for the console's disposition or Ready
        assert await apply_command(engine, person.id, "ready", {}) is None
        assert person.state is not OperatorState.WRAP_UP
    finally:
        await engine.stop(drain_s=0)


async def test_wrap_up_ends_by_itself_after_the_campaigns_limit(db: asyncpg.Pool) -> None:
    engine, pbx = await started(db, operators_n=1, leads_n=2)
    try:
        await db.execute("""UPDATE campaign SET pacing = '{"wrap_up_max_s": 0.2}'""")
        runner = next(iter(engine.runners.values()))
        runner.update(await _campaign(db))
        await until(lambda: len(pbx.customer_calls()) >= 1)
        first = pbx.customer_calls()[0]
        pbx.emit(CallAnswered(first.channel_id))
        await until(lambda: bool(pbx.redirects))
        pbx.emit(ConferenceJoined("op101", first.channel_id))
        pbx.emit(ChannelHungUp(first.channel_id, 16))
        operator = next(iter(engine.floor.operators.values()))
        assert operator.state is OperatorState.WRAP_UP
        await until(lambda: operator.state is not OperatorState.WRAP_UP, timeout=2.0)
    finally:
        await engine.stop(drain_s=0)


async def _campaign(db: asyncpg.Pool) -> campaigns.Campaign:
    return await campaigns.get(db, "c1")


async def test_a_manual_dial_obeys_the_calling_hours_of_the_callee(db: asyncpg.Pool) -> None:
    """Only the do-not-call lists were checked: an operator could call California at 04:00 its time."""
    campaign_id = await make_campaign(db, operators_n=1, leads_n=0)
    async with db.acquire() as conn:
        await compliance_store.set_campaign_rules(conn, campaign_id, CampaignRules(windows="09:00-20:00"))
    pbx = FakePbx()
    engine = Engine(db, pbx, midday(), CONFIG)
    await engine.start()
    try:
        operator = next(iter(engine.floor.operators.values()))
        await until(lambda: operator.state is OperatorState.READY)
        refusal = await apply_command(engine, operator.id, "dial", {"campaign_id": campaign_id,
                                                                    "phone": "+1 415 555 0123"})
        assert refusal is not None and "America/Los_Angeles" in refusal and "\n" not in refusal
        assert pbx.customer_calls() == [] and operator.state is OperatorState.READY
        assert await db.fetchval("SELECT count(*) FROM attempt") == 0
    finally:
        await engine.stop(drain_s=0)


async def test_a_short_number_typed_for_a_manual_dial_is_refused_in_one_line(db: asyncpg.Pool) -> None:
    """"12" became a campaign lead, dialed, and after busy sat in the list for the dialer to call."""
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator = next(iter(engine.floor.operators.values()))
        await until(lambda: operator.state is OperatorState.READY)
        refusal = await apply_command(engine, operator.id, "dial", {"campaign_id": next(iter(operator.campaigns)),
                                                                    "phone": "12"})
        assert refusal == "'12' is not a phone number in US; dial the full number"
        assert pbx.customer_calls() == [] and await db.fetchval("SELECT count(*) FROM lead") == 0
    finally:
        await engine.stop(drain_s=0)


@pytest.mark.parametrize("answered", [True, False])
async def test_an_operator_who_dials_while_paused_is_paused_again_after_the_call(
        db: asyncpg.Pool, answered: bool) -> None:
    """They ended READY after the wrap-up, and predictive calls started arriving unasked."""
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator = next(iter(engine.floor.operators.values()))
        await until(lambda: operator.state is OperatorState.READY)
        assert await apply_command(engine, operator.id, "pause", {"reason": "lunch"}) is None
        assert await apply_command(engine, operator.id, "dial", {"campaign_id": next(iter(operator.campaigns)),
                                                                 "phone": "+442079460000"}) is None
        request = pbx.customer_calls()[-1]
        if answered:
            pbx.emit(ConferenceJoined("op101", request.channel_id))
            pbx.emit(OriginateResult(request.channel_id, True, 4))
            pbx.emit(ChannelHungUp(request.channel_id, 16))
            await until(lambda: operator.state is OperatorState.WRAP_UP)
            engine.wrap_up_done(operator)
        else:
            pbx.emit(OriginateResult(request.channel_id, False, 5))
        await until(lambda: operator.state is OperatorState.PAUSED)
        assert operator.pause_reason == "lunch" and operator.attempt_id is None
        if answered:   # a manual call from READY still ends READY
            assert await apply_command(engine, operator.id, "ready", {}) is None
            _, request = await dialed_by_hand(engine, pbx, "+442079460001")
            pbx.emit(ConferenceJoined("op101", request.channel_id))
            pbx.emit(OriginateResult(request.channel_id, True, 4))
            pbx.emit(ChannelHungUp(request.channel_id, 16))
            await until(lambda: operator.state is OperatorState.WRAP_UP)
            engine.wrap_up_done(operator)
            assert operator.state is OperatorState.READY
    finally:
        await engine.stop(drain_s=0)


async def test_a_connected_call_is_one_on_call_session_row(db: asyncpg.Pool) -> None:
    """Each connected call wrote two consecutive on_call rows: RESERVED (stored as on_call), then ON_CALL."""
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        operator, request = await dialed_by_hand(engine, pbx, "+442079460000")
        pbx.emit(ConferenceJoined("op101", request.channel_id))
        pbx.emit(OriginateResult(request.channel_id, True, 4))
        pbx.emit(ChannelHungUp(request.channel_id, 16))
        await until(lambda: operator.state is OperatorState.WRAP_UP)
        await engine.recorder.drain()
        states = [r["state"] for r in await db.fetch(
            "SELECT state FROM operator_session WHERE operator_id = $1 ORDER BY id", operator.id)]
        assert states[-2:] == ["on_call", "wrap_up"] and states.count("on_call") == 1
    finally:
        await engine.stop(drain_s=0)


async def test_an_operators_calls_and_talk_of_the_day_survive_an_engine_restart(db: asyncpg.Pool) -> None:
    """The console's and watch's "calls" and "talk" went back to 0 whenever the engine restarted."""
    campaign_id = await make_campaign(db, operators_n=1, leads_n=0)
    operator_id = await db.fetchval("SELECT id FROM operator")
    lead_id = await db.fetchval("INSERT INTO lead (campaign_id, phone) VALUES ($1, '+442079460000') RETURNING id",
                                  campaign_id)
    noon = midday().now()
    for connected, talk_s in ((noon - timedelta(hours=2), 60), (noon - timedelta(hours=1), 30),
                              (noon - timedelta(days=1), 500), (noon - timedelta(minutes=5), None)):
        await db.execute(
            """INSERT INTO attempt (lead_id, campaign_id, phone, caller_id, engine, claimed_at, connected_at, ended_at,
                                    operator_id, state, outcome)
               VALUES ($1, $2, '+442079460000', '+15550000000', 'e0', $3, $3, $4, $5, $6, $7)""",
            lead_id, campaign_id, connected, None if talk_s is None else connected + timedelta(seconds=talk_s),
            operator_id, "connected" if talk_s is None else "ended", None if talk_s is None else "connected")
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    try:
        operator = engine.floor.operators[operator_id]
        assert (operator.calls, operator.talk_s) == (2, 90.0)   # today's ended ones; not yesterday's
    finally:
        await engine.stop(drain_s=0)


async def test_an_operators_occupancy_of_the_day_survives_an_engine_restart(db: asyncpg.Pool) -> None:
    """Seen in `dialer watch` after a restart: "calls 4, talk 7:46, occupancy 0%" — calls and talk were the
    day's, occupancy only the new engine's life. It is read from the day's sessions too (yesterday's and a
    session of before midnight count from midnight only)."""
    await make_campaign(db, operators_n=1, leads_n=0)
    operator_id = await db.fetchval("SELECT id FROM operator")
    noon = midday().now()
    midnight = noon.replace(hour=0, minute=0, second=0, microsecond=0)
    sessions = [("ready", noon - timedelta(days=1), noon - timedelta(days=1, minutes=-50)),    # yesterday
                ("on_call", midnight - timedelta(minutes=10), midnight + timedelta(minutes=20)),   # 20 min today
                ("ready", noon - timedelta(hours=2), noon - timedelta(minutes=110)),        # 10 min
                ("wrap_up", noon - timedelta(minutes=110), noon - timedelta(minutes=100)),  # 10 min
                ("paused", noon - timedelta(minutes=100), noon - timedelta(minutes=80)),    # 20 min
                ("ready", noon - timedelta(minutes=80), None)]        # left open by a killed engine: 80 min
    for state, started_at, ended_at in sessions:
        await db.execute("INSERT INTO operator_session (operator_id, state, started_at, ended_at) "
                         "VALUES ($1, $2, $3, $4)", operator_id, state, started_at, ended_at)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    try:
        operator = engine.floor.operators[operator_id]
        busy, logged = operator.busy_and_logged_s(operator.since)
        assert (busy, logged) == pytest.approx((30 * 60, 140 * 60), abs=1.0)
    finally:
        await engine.stop(drain_s=0)


async def test_a_number_dialed_by_hand_is_recorded_in_e164_as_the_compliance_history_reads_it(
        db: asyncpg.Pool) -> None:
    """The attempt kept the number as typed ("+44 20 7946 0000"): the contact caps, which count a number's
    attempts by its E.164 form, never saw it."""
    engine, pbx = await started(db, operators_n=1, leads_n=0)
    try:
        await dialed_by_hand(engine, pbx, "+44 20 7946 0000")
        assert await db.fetchval("SELECT phone FROM attempt") == "+442079460000"
    finally:
        await engine.stop(drain_s=0)
