"""A campaign whose list has nothing dialable now (all called, retries not due, outside calling hours) sat
with its operators ready and its pacing panel unchanged: nothing on screen or in the engine's log said why
no call came. The engine publishes it and logs it once; the watch view says it."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from dialer.control import picture_doc
from dialer.engine import Engine
from dialer.views.picture import parse_picture
from dialer.views.watch import pacing_lines
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until
from tests.views.conftest import Scene, campaign_doc, snapshot


def test_the_pacing_panel_says_when_the_campaign_has_nothing_to_dial() -> None:
    scene = Scene(campaign_id=1, operator_id=3, lead_id=12, attempt_id=77, earlier_attempt_id=70)
    [idle] = parse_picture([snapshot([campaign_doc(scene, nothing_to_dial=True)], [])]).campaigns
    assert any(line.startswith("nothing to dial now") and "dialer lists show winter" in line
               for line in pacing_lines(idle, ())), pacing_lines(idle, ())
    [busy] = parse_picture([snapshot([campaign_doc(scene)], [])]).campaigns
    assert not any("nothing to dial" in line for line in pacing_lines(busy, ()))


@pytest.mark.db
async def test_the_engine_publishes_and_logs_once_that_a_campaign_has_nothing_to_dial(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dialer.runner")
    await make_campaign(db, operators_n=1, leads_n=0)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    try:
        [runner] = engine.runners.values()
        await until(lambda: runner.exhausted)
        [doc] = picture_doc(engine)["campaigns"]
        assert doc["nothing_to_dial"] is True
        said = [r.getMessage() for r in caplog.records if "nothing to dial" in r.getMessage()]
        assert len(said) == 1 and said[0].startswith("campaign c1: nothing to dial now"), said
    finally:
        await engine.stop(drain_s=0)
