"""A console sends a code that was retired (or removed) while the call was on screen: the engine refuses it
with a sentence for the console, keeps the operator in wrap-up, and takes the next code chosen."""

from __future__ import annotations

import pytest

from ami.pbx import CallAnswered, ChannelHungUp, ConferenceJoined
from dialer.commands import apply_command
from dialer.engine import Engine
from dialer.floor import OperatorState
from lists import disposition_catalogue
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import running, until  # noqa: F401  (the fixture)

pytestmark = pytest.mark.db


async def wrap_up(engine: Engine, pbx: FakePbx) -> tuple[int, int]:
    """The first call answered, connected to an operator and hung up: (operator id, attempt id)."""
    await until(lambda: len(pbx.customer_calls()) >= 1)
    first = pbx.customer_calls()[0]
    call = engine.calls[first.channel_id]
    pbx.emit(CallAnswered(first.channel_id))
    await until(lambda: bool(pbx.redirects))
    pbx.emit(ConferenceJoined(f"op{pbx.redirects[0][2]}", first.channel_id))
    pbx.emit(ChannelHungUp(first.channel_id, 16))
    assert call.operator_id is not None and call.attempt_id is not None
    await until(lambda: engine.floor.operators[call.operator_id].state is OperatorState.WRAP_UP)
    await engine.recorder.drain()
    return call.operator_id, call.attempt_id


@pytest.mark.parametrize(("code", "says"), [
    ("no_decision", "disposition 'no_decision' was retired from this campaign's catalogue; choose another: "),
    ("maybe", "unknown disposition 'maybe'; this campaign knows: "),
])
async def test_a_code_the_catalogue_no_longer_offers_is_refused_and_the_wrap_up_stays_open(
        running: tuple[Engine, FakePbx], code: str, says: str) -> None:  # noqa: F811
    engine, pbx = running
    operator_id, attempt_id = await wrap_up(engine, pbx)
    campaign_id = await engine.db.fetchval("SELECT campaign_id FROM attempt WHERE id = $1", attempt_id)
    await engine.db.execute("UPDATE lead SET last_disposition = 'no_decision' WHERE id = "
                              "(SELECT min(id) FROM lead WHERE campaign_id = $1)", campaign_id)
    async with engine.db.acquire() as conn:
        removed = await disposition_catalogue.remove(conn, campaign_id, ["no_decision"], actor="manager",
                                                     now=engine.clock.now())
    assert removed.retired == ["no_decision"]

    refused = await apply_command(engine, operator_id, "disposition", {"attempt_id": attempt_id, "code": code})
    assert refused is not None and refused.startswith(says), refused
    assert "no_decision" not in refused.partition("; ")[2]    # the choices it names do not offer it
    assert engine.floor.operators[operator_id].state is OperatorState.WRAP_UP
    assert await engine.db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) is None

    assert await apply_command(engine, operator_id, "disposition",
                               {"attempt_id": attempt_id, "code": "not_interested"}) is None
    assert await engine.db.fetchval("SELECT disposition FROM attempt WHERE id = $1", attempt_id) == \
        "not_interested"
    assert engine.floor.operators[operator_id].state is OperatorState.READY


async def test_an_unreadable_callback_time_is_refused_not_raised(
        running: tuple[Engine, FakePbx]) -> None:  # noqa: F811
    engine, pbx = running
    operator_id, attempt_id = await wrap_up(engine, pbx)
    refused = await apply_command(engine, operator_id, "disposition",
                                  {"attempt_id": attempt_id, "code": "callback", "callback_at": "tomorrow"})
    assert refused == "callback time 'tomorrow' is not a date and time"
    assert engine.floor.operators[operator_id].state is OperatorState.WRAP_UP
