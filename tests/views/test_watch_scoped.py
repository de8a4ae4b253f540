"""The watch view of a logged-in supervisor: only the campaigns they supervise, and their commands carry
their name and person."""

from __future__ import annotations

import asyncpg
import pytest
from textual.widgets import DataTable, Input, Static

from dialer.views.watch import WatchApp
from people import store
from tests.views.conftest import NOW, FixedClock, Scene, campaign_doc, operator_doc, publish, snapshot, until
from tests.views.test_watch import SIZE, text

pytestmark = pytest.mark.db


async def test_a_supervisor_sees_and_pauses_only_the_operators_of_their_campaigns(
        db: asyncpg.Pool, scene: Scene) -> None:
    summer = await db.fetchval(
        "INSERT INTO campaign (name, channel_template, caller_id) VALUES ('summer', 'L/{phone}', '1') RETURNING id")
    boris = await db.fetchval("INSERT INTO operator (name, extension) VALUES ('Boris', '102') RETURNING id")
    await store.add(db, name="sofia", role="supervisor", password="sofia's password", operator=None, now=NOW)
    await store.supervise(db, "sofia", "winter")
    sofia = await store.log_in(db, "sofia", "sofia's password", NOW)
    summer_doc = {**campaign_doc(scene), "id": summer, "name": "summer"}
    boris_doc = {**operator_doc(scene, "ready", attempt=False), "id": boris, "name": "Boris", "extension": "102",
                 "campaigns": [summer]}
    app = WatchApp(db, FixedClock(), person=sofia)
    async with app.run_test(size=(200, 50)) as pilot:
        await publish(db, snapshot([campaign_doc(scene), summer_doc], [operator_doc(scene, "ready"), boris_doc]))
        table = app.query_one("#operators", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert [c.name for c in app.floor.campaigns] == ["winter"]
        assert str(table.get_row_at(0)[0]) == "Anna"
        await pilot.press("c")                       # the next campaign: there is no other for her
        assert app.campaign is not None and app.campaign.name == "winter"
        await pilot.press("o")
        await until(pilot, lambda: app.sent != [])
    row = await db.fetchrow("SELECT operator_id, command, actor, person_id FROM operator_command")
    assert (row["operator_id"], row["command"], row["actor"], row["person_id"]) == (
        scene.operator_id, "pause", "supervisor:sofia", sofia.id)


async def test_a_supervisor_taken_off_a_campaign_can_no_longer_tune_start_or_pause_it(
        db: asyncpg.Pool, scene: Scene) -> None:
    """The view offered the campaign at login; the change is checked again against the store when it is
    made, in the server's process, whatever the screen offered."""
    await store.add(db, name="sofia", role="supervisor", password="sofia's password", operator=None, now=NOW)
    await store.supervise(db, "sofia", "winter")
    sofia = await store.log_in(db, "sofia", "sofia's password", NOW)
    before = await db.fetchrow("SELECT state, pacing FROM campaign WHERE id = $1", scene.campaign_id)
    app = WatchApp(db, FixedClock(), person=sofia)
    async with app.run_test(size=SIZE) as pilot:
        await publish(db, snapshot([campaign_doc(scene)], [operator_doc(scene, "ready")]))
        await until(pilot, lambda: app.campaign is not None)
        await db.execute("DELETE FROM supervisor_campaign")        # a manager takes her off winter
        await pilot.press("s")
        await until(pilot, lambda: "may not change campaign winter" in text(app, "#message"))
        await pilot.press("t")
        await pilot.pause()
        form = app.screen
        form.query_one("#set-max_hour_abandon", Input).value = "0.02"
        await pilot.pause()
        await pilot.click("#apply")
        await until(pilot, lambda: "refused: sofia may not change campaign winter" in
                    str(form.query_one("#changes", Static).content))
    after = await db.fetchrow("SELECT state, pacing FROM campaign WHERE id = $1", scene.campaign_id)
    assert after == before
    assert await db.fetchval("SELECT count(*) FROM audit") == 0
