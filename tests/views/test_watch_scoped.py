"""The watch view of a logged-in supervisor: only the campaigns they supervise, and their commands carry
their name and person."""

from __future__ import annotations

import asyncpg
import pytest
from textual.widgets import DataTable

from dialer.views.watch import WatchApp
from people import store
from tests.views.conftest import NOW, FixedClock, Scene, campaign_doc, operator_doc, publish, snapshot, until

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
