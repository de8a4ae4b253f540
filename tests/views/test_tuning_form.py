"""The watch view's tuning form and ``max_hour_abandon``: a campaign setting (no single hour over it) that
the form must offer beside the cap, and that only ever tightens the cap of the campaign's preset."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static

from compliance import store as compliance_store
from compliance.rules import CampaignRules
from tests.views.conftest import Scene, campaign_doc, operator_doc, publish, snapshot, until
from tests.views.test_watch import SIZE, text, watch

pytestmark = pytest.mark.db


async def tuning_form(pilot: Pilot[None], doc: dict[str, Any], scene: Scene) -> Screen[None]:
    """The engine publishes the campaign ``doc``; the supervisor opens its tuning form (t)."""
    await publish(pilot.app.db, snapshot([doc], [operator_doc(scene)]))
    await until(pilot, lambda: pilot.app.campaign is not None)
    await pilot.press("t")
    await pilot.pause()
    return pilot.app.screen


async def test_the_tuning_form_sets_max_hour_abandon_with_an_audit_row(db: asyncpg.Pool, scene: Scene) -> None:
    app = watch(db, actor="supervisor:200")
    async with app.run_test(size=SIZE) as pilot:
        form = await tuning_form(pilot, campaign_doc(scene), scene)
        box = form.query_one("#set-max_hour_abandon", Input)
        assert box.value == ""                           # not set: only the window's cap holds
        box.value = "0.02"
        await pilot.pause()
        assert str(form.query_one("#changes", Static).content) == "max_hour_abandon: — → 0.02"
        await pilot.click("#apply")
        await until(pilot, lambda: "applied" in text(app, "#message"))
    pacing = json.loads(await db.fetchval("SELECT pacing FROM campaign WHERE id = $1", scene.campaign_id))
    assert pacing == {"max_hour_abandon": 0.02}
    assert await db.fetchval("SELECT setting FROM audit") == "max_hour_abandon"


async def test_the_tuning_form_refuses_max_hour_abandon_above_the_presets_cap_naming_the_law(
        db: asyncpg.Pool, scene: Scene) -> None:
    async with db.acquire() as conn:
        await compliance_store.set_campaign_rules(conn, scene.campaign_id, CampaignRules(preset="US"))
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        form = await tuning_form(pilot, campaign_doc(scene), scene)
        form.query_one("#set-max_hour_abandon", Input).value = "0.05"
        await pilot.pause()
        shown = str(form.query_one("#changes", Static).content)
        assert shown.startswith("cannot apply: max_hour_abandon") and "47 CFR 64.1200(a)(7)" in shown, shown
        await pilot.click("#apply")
        await pilot.pause()
    assert await db.fetchval("SELECT pacing FROM campaign WHERE id = $1", scene.campaign_id) == "{}"


async def test_a_setting_the_engine_shows_unset_reads_as_unset_not_none(db: asyncpg.Pool, scene: Scene) -> None:
    """Seen by hand: the engine's picture carries ``max_hour_abandon: null`` when it is not set, and the form
    said "max_hour_abandon: None → 0.025", Python's word, not the supervisor's."""
    app = watch(db)
    async with app.run_test(size=SIZE) as pilot:
        doc = campaign_doc(scene)
        doc["settings"]["max_hour_abandon"] = None
        form = await tuning_form(pilot, doc, scene)
        form.query_one("#set-max_hour_abandon", Input).value = "0.025"
        await pilot.pause()
        assert str(form.query_one("#changes", Static).content) == "max_hour_abandon: — → 0.025"
