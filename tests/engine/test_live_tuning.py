"""Live tuning: a change made the way `dialer campaign set` makes it reaches a running engine within a second."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg
import pytest

from dialer.control import ControlPlane
from dialer.engine import Engine
from dialer.tuning import parse_assignments, validate_pacing
from lists import campaigns
from tests.engine.fake_pbx import FakePbx
from tests.engine.test_engine import CONFIG, make_campaign, midday, until

pytestmark = pytest.mark.db


async def test_campaign_set_reaches_the_running_engine_within_a_second(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dialer.engine")
    await make_campaign(db, operators_n=1, leads_n=3)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, picture_s=None, poll_s=30.0)   # only NOTIFY can bring it in time
    await control.start()
    try:
        runner = next(iter(engine.runners.values()))
        assert runner.settings.mode == "progressive"
        changes = parse_assignments(["mode=predictive", "target_abandon=0.02", "max_lines_per_operator=2.5"])
        async with db.acquire() as conn, conn.transaction():
            await campaigns.set_pacing(conn, "c1", changes, actor="cli:test", now=engine.clock.now(),
                                       validate=validate_pacing)
        await until(lambda: runner.settings.mode == "predictive", timeout=1.0)
        assert runner.settings.target_abandon == 0.02
        assert runner.settings.max_lines_per_operator == 2.5
        # the engine's log says who changed what (it said nothing)
        [line] = [r.getMessage() for r in caplog.records if "tuned" in r.getMessage()]
        assert line == ("campaign c1 tuned by cli:test: max_lines_per_operator default → 2.5, "
                        "mode progressive → predictive, target_abandon default → 0.02"), line
        audit = await db.fetch("SELECT actor, setting, new_value FROM audit WHERE setting <> 'state' ORDER BY id")
        assert [(r["actor"], r["setting"]) for r in audit] == [
            ("cli:test", "mode"), ("cli:test", "target_abandon"), ("cli:test", "max_lines_per_operator")]
    finally:
        await control.close()
        await engine.stop(drain_s=0)


async def test_a_pause_and_a_start_say_who_in_the_engines_log(
        db: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    """Tuning was logged with who made it; pausing or starting a campaign from the watch view left no line."""
    caplog.set_level(logging.INFO, logger="dialer.control")
    await make_campaign(db, operators_n=1, leads_n=3)
    engine = Engine(db, FakePbx(), midday(), CONFIG)
    await engine.start()
    control = ControlPlane(engine, picture_s=None, poll_s=30.0)
    await control.start()
    try:
        def logged(line: str) -> bool:   # the line follows the runner's change after one more store read
            return line in [r.getMessage() for r in caplog.records if r.name == "dialer.control"]

        await campaigns.set_state(db, "c1", "paused", actor="supervisor:Sam", now=engine.clock.now())
        await until(lambda: not engine.runners)
        await until(lambda: logged("campaign c1 paused by supervisor:Sam: its calls in progress finish"))
        await campaigns.set_state(db, "c1", "running", actor="supervisor:Sam", now=engine.clock.now())
        await until(lambda: bool(engine.runners))
        await until(lambda: logged("campaign c1 runs here (last change by supervisor:Sam)"))
    finally:
        await control.close()
        await engine.stop(drain_s=0)


async def test_a_setting_out_of_range_is_refused_by_name_and_changes_nothing(db: asyncpg.Pool) -> None:
    await make_campaign(db, operators_n=0, leads_n=0)
    with pytest.raises(campaigns.CampaignError, match="target_abandon"):
        await campaigns.set_pacing(db, "c1", parse_assignments(["target_abandon=0.05"]), actor="t",
                                   now=midday_now(), validate=validate_pacing)
    with pytest.raises(ValueError, match="unknown setting 'speed'"):
        parse_assignments(["speed=3"])
    assert (await campaigns.get(db, "c1")).pacing == {}


def midday_now() -> datetime:
    return datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_routing_is_a_campaign_setting_with_named_modes() -> None:
    changes = parse_assignments(["routing=newcomers_first", "mode=progressive"])
    validate_pacing(changes.pop("mode"), changes)
    with pytest.raises(ValueError, match="routing must be one of"):
        parse_assignments(["routing=random"])
